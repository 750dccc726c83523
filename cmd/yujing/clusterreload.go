package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"yujing/cluster"
	"yujing/configs"
	"yujing/web"
)

// A reload asked of one node of a cluster (POST /-/reload) is applied by
// every node: the node reloads its own file first (a file that does not
// parse is refused there, with the reason, and nothing is told); then it
// tells the others over the bus, each reloads its own copy and records
// the outcome and its file's hash in nodes, and the answer waits (up to
// reloadWait) for every live node's outcome and names those that refused
// or run another file.

// reloadWait bounds how long a cluster-wide reload waits for the other
// nodes' outcomes.
const reloadWait = 5 * time.Second

// configHash identifies the configuration file at path (its bytes), so
// that nodes whose files differ can be named; "" when it cannot be read.
func configHash(path string) string {
	if path == "" || path == configs.DemoName {
		return "demo"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// reloadAll returns the reload the API offers: local alone on a node
// alone; on a cluster's node, local and then every other node's.
func (c *clusterStage) reloadAll(local func(context.Context) error, path string) func(context.Context) error {
	if c == nil {
		return local
	}
	return func(ctx context.Context) error {
		err := local(ctx)
		node := c.node.Load()
		if node != nil {
			if rerr := node.ReportReload(ctx, configHash(path), err); rerr != nil {
				c.log.Warn("cluster: reload outcome not recorded", "err", rerr)
			}
		}
		if err != nil || node == nil {
			return err
		}
		return c.reloadOthers(ctx, node, configHash(path))
	}
}

// reloadOthers tells the other nodes to reload and waits for their
// outcomes; it returns an error naming each node that refused, runs
// another file, or did not answer in time.
func (c *clusterStage) reloadOthers(ctx context.Context, node *cluster.Node, hash string) error {
	before, err := node.LiveNodes(ctx)
	if err != nil {
		return fmt.Errorf("%w: the other nodes not told: %w", web.ErrReloadedHereOnly, err)
	}
	last := map[string]time.Time{}
	for _, n := range before {
		last[n.ID] = n.ReloadAt
	}
	if err := c.bus.Load().Publish(ctx, busReload, c.self); err != nil {
		return fmt.Errorf("%w: the other nodes not told: %w", web.ErrReloadedHereOnly, err)
	}
	wctx, cancel := context.WithTimeout(ctx, reloadWait)
	defer cancel()
	for {
		nodes, err := node.LiveNodes(wctx)
		pending, problems := 0, []string(nil)
		for _, n := range nodes {
			switch {
			case n.ID == node.ID():
			case !n.ReloadAt.After(last[n.ID]):
				pending++
				if wctx.Err() != nil {
					problems = append(problems, fmt.Sprintf("%s: no outcome within %v", n.ID, reloadWait))
				}
			case n.ReloadError != "":
				problems = append(problems, fmt.Sprintf("%s refused it: %s", n.ID, n.ReloadError))
			case n.ConfigHash != hash:
				problems = append(problems, fmt.Sprintf("%s runs another file (hash %s, this node's %s)", n.ID, n.ConfigHash, hash))
			}
		}
		if err == nil && (pending == 0 || wctx.Err() != nil) {
			if len(problems) > 0 {
				return fmt.Errorf("%w: %s", web.ErrReloadedHereOnly, strings.Join(problems, "; "))
			}
			return nil
		}
		if wctx.Err() != nil {
			return fmt.Errorf("%w: the other nodes' outcomes not read: %w", web.ErrReloadedHereOnly, err)
		}
		select {
		case <-wctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// reloadHere reloads this node when another asked the cluster to, and
// records the outcome.
func (c *clusterStage) reloadHere(ctx context.Context, local func(context.Context) error, path string) {
	err := local(ctx)
	if node := c.node.Load(); node != nil {
		if rerr := node.ReportReload(ctx, configHash(path), err); rerr != nil {
			c.log.Warn("cluster: reload outcome not recorded", "err", rerr)
		}
	}
	if err != nil {
		c.log.Error("cluster: another node asked for a reload; this node's file was refused", "err", err)
	}
}
