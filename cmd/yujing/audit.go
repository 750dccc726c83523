package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"yujing/audit"
	"yujing/store/sqlstate"
)

const auditUsage = `Usage:
  yujing audit verify [-data DIR]
      check the hash chain of the audit log in DIR/state.db: prints
      "audit log intact: N entries, last hash …" and exits 0, or the first
      problem and exits 1
  yujing audit export [-data DIR] [-format csv|json] [-from RFC3339] [-to RFC3339] [-actor WHO] [-action TEXT]
      write the entries, oldest first, to standard output

Both open the state database read-only; yujing serve may be running.
With YUJING_STATE_URL set, they read that PostgreSQL state database
instead of DIR/state.db.
`

// auditCmd runs yujing audit verify|export.
func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	switch args[0] {
	case "verify":
		return auditVerifyCmd(ctx, args[1:], stdout, stderr)
	case "export":
		return auditExportCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, auditUsage)
		return 0
	}
	fmt.Fprintf(stderr, "yujing audit: unknown command %q\n\n%s", args[0], auditUsage)
	return 2
}

// openAuditLog opens the audit log read-only: DIR/state.db's, or that of
// the PostgreSQL database in $YUJING_STATE_URL.
func openAuditLog(ctx context.Context, dataDir string) (*sqlstate.AuditLog, error) {
	where, _ := adminState(dataDir)
	return sqlstate.OpenAuditLog(ctx, where)
}

func auditVerifyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "./data", "data directory holding state.db")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "yujing audit verify: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	l, err := openAuditLog(ctx, *dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "yujing audit verify:", err)
		return 1
	}
	defer l.Close()
	rep, err := audit.Verify(ctx, l)
	if err != nil {
		fmt.Fprintln(stderr, "yujing audit verify:", err)
		return 1
	}
	fmt.Fprintln(stdout, rep)
	if !rep.OK {
		return 1
	}
	return 0
}

func auditExportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "./data", "data directory holding state.db")
	format := fs.String("format", "csv", "csv or json")
	from := fs.String("from", "", "only entries at or after this time (RFC 3339)")
	to := fs.String("to", "", "only entries before this time (RFC 3339)")
	var f audit.Filter
	fs.StringVar(&f.Actor, "actor", "", "only entries by this actor")
	fs.StringVar(&f.Action, "action", "", "only entries whose action contains this text")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "yujing audit export: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	ft, err := audit.ParseFormat(*format)
	if err != nil {
		fmt.Fprintln(stderr, "yujing audit export: -format:", err)
		return 2
	}
	for _, p := range []struct {
		name, v string
		dst     *time.Time
	}{{"from", *from, &f.From}, {"to", *to, &f.To}} {
		if p.v == "" {
			continue
		}
		if *p.dst, err = time.Parse(time.RFC3339, p.v); err != nil {
			fmt.Fprintf(stderr, "yujing audit export: -%s: want an RFC 3339 time such as 2026-07-01T08:00:00+08:00, got %q\n", p.name, p.v)
			return 2
		}
	}
	l, err := openAuditLog(ctx, *dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "yujing audit export:", err)
		return 1
	}
	defer l.Close()
	w := bufio.NewWriter(stdout)
	err = audit.Export(ctx, l, f, ft, w)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintln(stderr, "yujing audit export:", err)
		return 1
	}
	return 0
}
