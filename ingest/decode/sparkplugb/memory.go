package sparkplugb

import (
	"container/list"
	"strings"
	"sync"
)

// metricDef is what a BIRTH declared about one metric.
type metricDef struct {
	name     string
	datatype uint32
}

// birthTable is what one NBIRTH or DBIRTH declared: metric names by alias
// and data types by name. It is never changed once built, so readers use
// it without holding the lock.
type birthTable struct {
	byAlias map[uint64]metricDef
	byName  map[string]metricDef
	size    int // estimated bytes held
}

// Rough costs, in bytes, for the memory bound.
const (
	defCost  = 96  // two map entries and a string header
	nodeCost = 256 // a node with its maps and list element
)

func newBirthTable(n int) *birthTable {
	return &birthTable{byAlias: make(map[uint64]metricDef, n), byName: make(map[string]metricDef, n)}
}

// add records a metric; it reports false when the alias is already taken
// by another name.
func (t *birthTable) add(name string, alias uint64, hasAlias bool, datatype uint32) bool {
	d := metricDef{name: name, datatype: datatype}
	if _, dup := t.byName[name]; !dup {
		t.size += defCost + len(name)
	}
	t.byName[name] = d
	if !hasAlias {
		return true
	}
	if old, dup := t.byAlias[alias]; dup && old.name != name {
		return false
	}
	t.byAlias[alias] = d
	return true
}

type nodeKey struct{ group, edge string }

// node is the memory of one edge node: its own BIRTH, its devices' and
// the bdSeq of its NBIRTH.
type node struct {
	key      nodeKey
	self     *birthTable
	devices  map[string]*birthTable
	bdSeq    uint64
	hasBdSeq bool
	size     int
	elem     *list.Element
}

func (n *node) resize() {
	n.size = nodeCost + len(n.key.group) + len(n.key.edge)
	if n.self != nil {
		n.size += n.self.size
	}
	for id, t := range n.devices {
		n.size += len(id) + t.size
	}
}

// memory holds the BIRTH tables of every edge node seen, bounded to about
// max bytes: past it the nodes whose NBIRTH or DBIRTH is oldest are
// forgotten. It is safe for concurrent use.
type memory struct {
	mu    sync.RWMutex
	max   int
	size  int
	nodes map[nodeKey]*node
	lru   list.List // of *node, most recent BIRTH at the front
}

func newMemory(max int) *memory {
	return &memory{max: max, nodes: map[nodeKey]*node{}}
}

// table returns the BIRTH table of the node (device "") or of one of its
// devices, nil when none is known.
func (m *memory) table(k nodeKey, device string) *birthTable {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := m.nodes[k]
	if n == nil {
		return nil
	}
	if device == "" {
		return n.self
	}
	return n.devices[device]
}

// bdSeq returns the bdSeq of the node's last NBIRTH.
func (m *memory) bdSeq(k nodeKey) (uint64, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if n := m.nodes[k]; n != nil {
		return n.bdSeq, n.hasBdSeq
	}
	return 0, false
}

// nodeBirth replaces the node's own table (nil when the NBIRTH could not
// be read) and bdSeq. The devices' tables stay: their DBIRTHs follow the
// NBIRTH and replace them, and one decoded a moment early on another
// worker must not be lost.
func (m *memory) nodeBirth(k nodeKey, t *birthTable, bdSeq uint64, hasBdSeq bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.touch(k)
	n.self = t
	n.bdSeq, n.hasBdSeq = bdSeq, hasBdSeq
	m.update(n)
}

// deviceBirth replaces the table of one device (nil when the DBIRTH could
// not be read).
func (m *memory) deviceBirth(k nodeKey, device string, t *birthTable) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.touch(k)
	if t == nil {
		delete(n.devices, device)
	} else {
		if n.devices == nil {
			n.devices = map[string]*birthTable{}
		}
		n.devices[strings.Clone(device)] = t
	}
	m.update(n)
}

// nodeDeath forgets the node and all its devices.
func (m *memory) nodeDeath(k nodeKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.nodes[k]; n != nil {
		m.remove(n)
	}
}

// deviceDeath forgets one device.
func (m *memory) deviceDeath(k nodeKey, device string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.nodes[k]; n != nil && n.devices[device] != nil {
		delete(n.devices, device)
		m.update(n)
	}
}

// touch returns the node for k, created if need be, moved to the front.
func (m *memory) touch(k nodeKey) *node {
	n := m.nodes[k]
	if n == nil {
		k = nodeKey{strings.Clone(k.group), strings.Clone(k.edge)}
		n = &node{key: k}
		n.elem = m.lru.PushFront(n)
		m.nodes[k] = n
		return n
	}
	m.lru.MoveToFront(n.elem)
	return n
}

// update recounts n and forgets the oldest other nodes while over the
// bound. The node just born is kept even if it alone exceeds it.
func (m *memory) update(n *node) {
	m.size -= n.size
	n.resize()
	m.size += n.size
	for m.size > m.max {
		old := m.lru.Back().Value.(*node)
		if old == n {
			break
		}
		m.remove(old)
	}
}

func (m *memory) remove(n *node) {
	m.lru.Remove(n.elem)
	delete(m.nodes, n.key)
	m.size -= n.size
}

// stats reports the number of nodes and the estimated bytes held.
func (m *memory) stats() (nodes, size int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.nodes), m.size
}
