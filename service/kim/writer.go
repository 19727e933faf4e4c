package kim

import (
	"github.com/parsec-go/parsec/wire"
)

// round is one round of the writer (wal.Start's goroutine, the only one
// that touches the log file or changes the in-memory map after Open):
// group commit of everything queued while the previous round was on disk.
func (m *OnDisk) round(batch []*op) {
	m.commit(batch)
	if m.garbage > 2*m.live && m.w.Size() > compactMin && m.w.Broken() == nil {
		if err := m.compact(); err != nil {
			m.log.Warn("key info manager: compacting the log failed; it keeps growing until the next attempt", "file", m.logPath, "err", err)
		}
	}
}

// slot names one mapping.
type slot struct {
	o    Owner
	name string
}

// pending is a batch's view of one mapping before it is durable.
type pending struct {
	e    Entry
	gone bool
}

// commit checks each op against the durable state plus the batch's earlier
// ops, appends the records of those that pass with one write and one
// fdatasync, then publishes them to readers and answers every op.
func (m *OnDisk) commit(batch []*op) {
	limit := m.quota.get()
	errs, overlay, added, buf, removed := m.plan(batch, limit, nil)
	if len(buf) > 0 && !m.reserve(int64(len(buf))) {
		// The disk is full: removals still go, into the space kept for
		// them, so that deleting keys can free space; the rest is refused.
		full := wire.Errorf(wire.StatusPsaErrorInsufficientStorage, "no space left for the key mappings in %s", m.logPath)
		errs, overlay, added, buf, removed = m.plan(batch, limit, full)
	}
	if len(buf) > 0 {
		if err := m.appendDurably(buf); err != nil {
			for i := range errs {
				if errs[i] == nil {
					errs[i] = err
				}
			}
		} else {
			m.mu.Lock()
			for s, p := range overlay {
				if p.gone {
					m.del(s.o, s.name)
				} else {
					m.put(s.o, s.name, p.e)
				}
			}
			m.mu.Unlock()
			m.garbage += removed
			for _, n := range added {
				m.live += n
			}
		}
	}
	if cap(buf) <= 1<<20 {
		m.buf = buf[:0] // reuse, unless one huge batch would pin memory
	}
	for i, x := range batch {
		x.done <- errs[i]
	}
}

// plan checks each op against the durable state plus the batch's earlier
// ops and encodes the records of those that pass. With noGrowth set, only
// removals pass; the others fail with it.
//
// The maps and the error slice are the writer's, reused from round to
// round: a round allocates nothing of its own (creation rates are bounded
// by the collector under a tight memory limit).
func (m *OnDisk) plan(batch []*op, limit int, noGrowth error) (errs []error, overlay map[slot]pending, added map[Owner]int, buf []byte, removed int) {
	if m.overlay == nil {
		m.overlay, m.added = map[slot]pending{}, map[Owner]int{}
	}
	clear(m.overlay)
	clear(m.added)
	overlay, added = m.overlay, m.added
	errs = append(m.errs[:0], make([]error, len(batch))...)
	m.errs = errs
	buf = m.buf[:0]
	for i, x := range batch {
		s := slot{x.o, x.name}
		_, exists := m.keys[x.o][x.name] // only this goroutine writes m.keys
		if p, ok := overlay[s]; ok {
			exists = !p.gone
		}
		switch {
		case m.w.Broken() != nil:
			errs[i] = wire.Errorf(wire.StatusKeyInfoManagerError, "key info manager %s is unusable until restart: %v", m.root, m.w.Broken())
			continue
		case x.kind == opInsert && exists:
			errs[i] = wire.Errorf(wire.StatusPsaErrorAlreadyExists, "key %q already exists", x.name)
			continue
		case x.kind != opInsert && !exists:
			errs[i] = notFound(x.name)
			continue
		case x.kind == opInsert && limit > 0 && x.o != InternalOwner && len(m.keys[x.o])+added[x.o] >= limit:
			errs[i] = wire.Errorf(wire.StatusPsaErrorInsufficientStorage, "the client already holds %d keys, its quota (key_manager.max_keys_per_client)", limit)
			continue
		case noGrowth != nil && x.kind != opRemove:
			errs[i] = noGrowth
			continue
		}
		switch x.kind {
		case opInsert:
			buf = appendPut(buf, x.o, x.name, x.e)
			overlay[s] = pending{e: x.e}
			added[x.o]++
		case opReplace:
			buf = appendPut(buf, x.o, x.name, x.e)
			overlay[s] = pending{e: x.e}
			removed++
		case opRemove:
			buf = appendRemove(buf, x.o, x.name)
			overlay[s] = pending{gone: true}
			added[x.o]--
			removed += 2 // the put it cancels and itself
		}
	}
	return errs, overlay, added, buf, removed
}

// reserve makes sure n more bytes plus wal's reserve are allocated past
// the log's end. It reports false only when the disk is full.
func (m *OnDisk) reserve(n int64) bool {
	if err := m.w.Reserve(n); err != nil {
		m.log.Error("key info manager: disk full; only removals are recorded until space is freed", "file", m.logPath, "err", err)
		return false
	}
	return true
}

// appendDurably writes recs after the last whole record and fdatasyncs
// (wal's Append: a failed round is cut back, so no record the clients
// were told failed can come back at the next start).
func (m *OnDisk) appendDurably(recs []byte) error {
	if err := m.w.Append(recs, nil); err != nil {
		return m.storageErr("appending to the log", err)
	}
	return nil
}

// compact rewrites the log with one put per live mapping. Writers wait
// meanwhile (this goroutine is theirs); readers do not.
func (m *OnDisk) compact() error {
	var buf []byte
	for o, byName := range m.keys {
		for name, e := range byName {
			buf = appendPut(buf, o, name, e)
		}
	}
	before := m.w.Size()
	if err := m.writeWhole(buf); err != nil {
		return err
	}
	m.log.Info("key info manager: compacted the log", "file", m.logPath, "keys", m.live, "bytes_before", before, "bytes_after", m.w.Size())
	m.garbage = 0
	return nil
}
