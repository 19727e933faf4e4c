package kim

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/parsec-go/parsec/wire"
)

// run is the writer: the only goroutine that touches the log file or
// changes the in-memory map after Open.
func (m *OnDisk) run() {
	defer close(m.stopped)
	batch := make([]*op, 0, maxBatch)
	for x := range m.ops {
		// Group commit: everything queued while the previous round was
		// on disk goes in this one.
		batch = append(batch[:0], x)
	fill:
		for len(batch) < maxBatch {
			select {
			case y, ok := <-m.ops:
				if !ok {
					break fill
				}
				batch = append(batch, y)
			default:
				break fill
			}
		}
		m.commit(batch)
		clear(batch)
		if m.garbage > 2*m.live && m.size > compactMin && m.broken == nil {
			if err := m.compact(); err != nil {
				m.log.Warn("key info manager: compacting the log failed; it keeps growing until the next attempt", "file", m.logPath, "err", err)
			}
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
func (m *OnDisk) plan(batch []*op, limit int, noGrowth error) (errs []error, overlay map[slot]pending, added map[Owner]int, buf []byte, removed int) {
	errs = make([]error, len(batch))
	overlay = make(map[slot]pending, len(batch))
	added = map[Owner]int{}
	buf = m.buf[:0]
	for i, x := range batch {
		s := slot{x.o, x.name}
		_, exists := m.keys[x.o][x.name] // only this goroutine writes m.keys
		if p, ok := overlay[s]; ok {
			exists = !p.gone
		}
		switch {
		case m.broken != nil:
			errs[i] = wire.Errorf(wire.StatusKeyInfoManagerError, "key info manager %s is unusable until restart: %v", m.root, m.broken)
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

// logReserve is disk space kept allocated past the end of the log so
// that removals can always be recorded, even on a full disk.
const logReserve = 64 << 10

// reserve makes sure n more bytes plus logReserve are allocated past the
// log's end (fallocate, keeping the file size). It reports false only
// when the disk is full; on file systems without fallocate it does
// nothing and reports true (the write itself then reports a full disk).
func (m *OnDisk) reserve(n int64) bool {
	want := m.size + n + logReserve
	if want <= m.allocated || m.noFallocate {
		return true
	}
	// Whole chunks, so that most rounds need no call at all.
	want = (want + logReserve - 1) / logReserve * logReserve
	err := unix.Fallocate(int(m.f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, want)
	switch {
	case err == nil:
		m.allocated = want
		return true
	case errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT):
		m.log.Error("key info manager: disk full; only removals are recorded until space is freed", "file", m.logPath, "err", err)
		return false
	default:
		m.noFallocate = true
		return true
	}
}

// appendDurably writes recs after the last whole record and fdatasyncs.
// On failure it cuts the file back, so no record the clients were told
// failed can come back at the next start; if even that fails the store
// refuses further writes until restart.
func (m *OnDisk) appendDurably(recs []byte) error {
	_, err := m.f.WriteAt(recs, m.size)
	if err == nil {
		err = m.fdatasync(int(m.f.Fd()))
	}
	if err != nil {
		if terr := m.f.Truncate(m.size); terr != nil {
			m.broken = fmt.Errorf("append failed (%v) and the log could not be cut back (%v)", err, terr)
		} else if serr := m.fdatasync(int(m.f.Fd())); serr != nil && !errors.Is(err, unix.ENOSPC) {
			m.broken = fmt.Errorf("append failed (%v) and the cut could not be synced (%v)", err, serr)
		}
		return m.storageErr("appending to the log", err)
	}
	m.size += int64(len(recs))
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
	before := m.size
	if err := m.writeWhole(buf); err != nil {
		return err
	}
	m.log.Info("key info manager: compacted the log", "file", m.logPath, "keys", m.live, "bytes_before", before, "bytes_after", m.size)
	m.garbage = 0
	return nil
}
