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
	// bornAt is the time (epoch ms) of the value the BIRTH gave the
	// metric, when it gave a numeric one with a time (born).
	bornAt uint64
	born   bool
}

// birthTable is what one NBIRTH or DBIRTH declared: metric names by alias
// and data types by name, and the BIRTH's seq. It is never changed once
// stored, so readers use it without holding the lock.
type birthTable struct {
	byAlias map[uint64]metricDef
	byName  map[string]metricDef
	seq     uint64 // the BIRTH message's seq, when hasSeq
	hasSeq  bool
	size    int // estimated bytes held
}

// Rough costs, in bytes, for the memory bound.
const (
	defCost   = 96  // two map entries and a string header
	scopeCost = 160 // a scope, its table's maps and list element
	nodeCost  = 160 // a node and its devices map
)

func newBirthTable(n int) *birthTable {
	return &birthTable{byAlias: make(map[uint64]metricDef, n), byName: make(map[string]metricDef, n), size: scopeCost}
}

// add records a metric; it reports false when the alias is already taken
// by another name.
func (t *birthTable) add(d metricDef, alias uint64, hasAlias bool) bool {
	name := d.name
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

// stamp records that the BIRTH gave name (with its alias, if any) a
// value timed ms.
func (t *birthTable) stamp(name string, alias uint64, hasAlias bool, ms uint64) {
	if d, ok := t.byName[name]; ok {
		d.bornAt, d.born = ms, true
		t.byName[name] = d
	}
	if d, ok := t.byAlias[alias]; hasAlias && ok && d.name == name {
		d.bornAt, d.born = ms, true
		t.byAlias[alias] = d
	}
}

// follows reports whether a message with seq h comes after the BIRTH of t
// in the edge node's one counter (0 to 255, then 0 again, shared by the
// node and all its devices): within the 127 messages after it. When either
// has no seq, the order of receipt decides: it follows.
func (t *birthTable) follows(seq uint64, hasSeq bool) bool {
	if !hasSeq || !t.hasSeq {
		return true
	}
	d := uint8(seq - t.seq)
	return d >= 1 && d < 128
}

type nodeKey struct{ group, edge string }

// node is what is known of one edge node: the BIRTH tables of the node
// itself and of its devices, and the bdSeq of its NBIRTH.
type node struct {
	key      nodeKey
	self     *scope
	devices  map[string]*scope
	bdSeq    uint64
	hasBdSeq bool
}

// scope is the BIRTH table of a node (device "") or of one device.
type scope struct {
	node   *node
	device string
	table  *birthTable
	elem   *list.Element
}

func (s *scope) size() int { return len(s.device) + s.table.size }

// memory holds the BIRTH tables seen, bounded to about max bytes: past it
// the tables whose BIRTH is oldest are forgotten (the table just stored is
// kept even if it alone is larger). It is safe for concurrent use.
type memory struct {
	mu    sync.RWMutex
	max   int
	size  int
	nodes map[nodeKey]*node
	lru   list.List // of *scope, most recent BIRTH at the front
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
	s := n.self
	if device != "" {
		s = n.devices[device]
	}
	if s == nil {
		return nil
	}
	return s.table
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

// nodeBirth replaces the node's own table (nil: the NBIRTH could not be
// read) and bdSeq. The devices' tables stay: their DBIRTHs follow the
// NBIRTH and replace them, and one decoded a moment early by another
// worker must not be lost.
func (m *memory) nodeBirth(k nodeKey, t *birthTable, bdSeq uint64, hasBdSeq bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.node(k)
	m.store(n, "", t)
	n.bdSeq, n.hasBdSeq = bdSeq, hasBdSeq && t != nil
}

// deviceBirth replaces the table of one device (nil: the DBIRTH could not
// be read).
func (m *memory) deviceBirth(k nodeKey, device string, t *birthTable) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.store(m.node(k), device, t)
}

// nodeDeath forgets the node and all its devices.
func (m *memory) nodeDeath(k nodeKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.nodes[k]
	if n == nil {
		return
	}
	for _, s := range n.devices {
		m.remove(s)
	}
	if n.self != nil {
		m.remove(n.self)
	}
	m.dropIfEmpty(n)
}

// deviceDeath forgets one device.
func (m *memory) deviceDeath(k nodeKey, device string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := m.nodes[k]; n != nil {
		if s := n.devices[device]; s != nil {
			m.remove(s)
			m.dropIfEmpty(n)
		}
	}
}

// node returns the node for k, created if need be.
func (m *memory) node(k nodeKey) *node {
	n := m.nodes[k]
	if n == nil {
		k = nodeKey{strings.Clone(k.group), strings.Clone(k.edge)}
		n = &node{key: k, devices: map[string]*scope{}}
		m.nodes[k] = n
		m.size += nodeCost + len(k.group) + len(k.edge)
	}
	return n
}

// store puts t as the table of n or its device, then forgets the oldest
// other tables while over the bound.
func (m *memory) store(n *node, device string, t *birthTable) {
	s := n.self
	if device != "" {
		s = n.devices[device]
	}
	if s != nil {
		m.remove(s)
	}
	if t == nil {
		m.dropIfEmpty(n)
		return
	}
	s = &scope{node: n, device: strings.Clone(device), table: t}
	s.elem = m.lru.PushFront(s)
	if device == "" {
		n.self = s
	} else {
		n.devices[s.device] = s
	}
	m.size += s.size()
	for m.size > m.max {
		old := m.lru.Back().Value.(*scope)
		if old == s {
			break
		}
		m.remove(old)
		m.dropIfEmpty(old.node)
	}
}

// remove forgets one table; the caller drops the node if it is empty.
func (m *memory) remove(s *scope) {
	m.lru.Remove(s.elem)
	if s.device == "" {
		s.node.self = nil
		s.node.hasBdSeq = false
	} else {
		delete(s.node.devices, s.device)
	}
	m.size -= s.size()
}

func (m *memory) dropIfEmpty(n *node) {
	if n.self == nil && len(n.devices) == 0 && m.nodes[n.key] == n {
		delete(m.nodes, n.key)
		m.size -= nodeCost + len(n.key.group) + len(n.key.edge)
	}
}

// stats reports the number of nodes and tables and the estimated bytes
// held.
func (m *memory) stats() (nodes, tables, size int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.nodes), m.lru.Len(), m.size
}
