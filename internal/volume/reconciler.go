package volume

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/nubo-cloud/nubo/internal/blob"
	"github.com/nubo-cloud/nubo/internal/driver/blockdev"
	"github.com/nubo-cloud/nubo/internal/logkey"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// resyncEvery bounds how long a failed store write waits to be retried:
// every resync looks at every record again (level-triggered).
const resyncEvery = 30 * time.Second

type key struct{ kind, id string }

// queue is a keyed, de-duplicating work queue: a key enqueued while it is
// being worked on runs once more afterwards, never twice at once.
type queue struct {
	mu      sync.Mutex
	cond    *sync.Cond
	pending []key
	queued  map[key]bool
	active  map[key]bool
	dirty   map[key]bool
	closed  bool
}

func newQueue() *queue {
	q := &queue{queued: map[key]bool{}, active: map[key]bool{}, dirty: map[key]bool{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) add(k key) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.active[k]:
		q.dirty[k] = true
	case !q.queued[k]:
		q.queued[k] = true
		q.pending = append(q.pending, k)
		q.cond.Signal()
	}
}

func (q *queue) get() (key, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.pending) == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return key{}, false
	}
	k := q.pending[0]
	q.pending = q.pending[1:]
	delete(q.queued, k)
	q.active[k] = true
	return k, true
}

func (q *queue) done(k key) {
	q.mu.Lock()
	delete(q.active, k)
	again := q.dirty[k]
	delete(q.dirty, k)
	q.mu.Unlock()
	if again {
		q.add(k)
	}
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// Run is the volume Reconciler: it follows the change feed from the
// current revision, after a full resync (so work a crash interrupted is
// picked up again), and does the backend work of volumes, snapshots and
// backups until ctx ends. Every step is idempotent; results are written
// only if the record still asks for the work done.
func (s *Service) Run(ctx context.Context) error {
	q := newQueue()
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() {
			for {
				k, ok := q.get()
				if !ok {
					return
				}
				if err := s.Reconcile(ctx, k.kind, k.id); err != nil && ctx.Err() == nil {
					s.log.Error("reconcile failed", "kind", k.kind, "id", k.id, logkey.Err, err)
				}
				q.done(k)
			}
		})
	}
	defer func() { q.close(); wg.Wait() }()

	rev, err := s.resync(ctx, q)
	if err != nil {
		return err
	}
	last := time.Now()
	for {
		if time.Since(last) > resyncEvery {
			if rev, err = s.resync(ctx, q); err != nil {
				return err
			}
			last = time.Now()
		}
		changes, err := s.st.Changes(ctx, rev, 1000)
		if errors.Is(err, store.ErrCompacted) {
			if rev, err = s.resync(ctx, q); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		for _, ch := range changes {
			rev = ch.Rev
			if !ch.Deleted && (ch.Kind == KindVolume || ch.Kind == KindSnapshot || ch.Kind == KindBackup) {
				q.add(key{ch.Kind, ch.ID})
			}
		}
		if len(changes) == 1000 {
			continue // a full batch: more may follow at once
		}
		wctx, cancel := context.WithTimeout(ctx, resyncEvery)
		_, err = s.st.Wait(wctx, rev)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}

// resync enqueues every record with work left and returns the revision
// the change feed should be followed from.
func (s *Service) resync(ctx context.Context, q *queue) (int64, error) {
	var rev int64
	var keys []key
	err := s.st.Read(ctx, func(tx store.ReadTx) error {
		rev = tx.Revision()
		vols, err := store.List[Volume](tx, KindVolume, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, v := range vols {
			if v.Pending != nil {
				keys = append(keys, key{KindVolume, v.ID})
			}
		}
		snaps, err := store.List[Snapshot](tx, KindSnapshot, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, sn := range snaps {
			if sn.Pending != "" {
				keys = append(keys, key{KindSnapshot, sn.ID})
			}
		}
		backups, err := store.List[Backup](tx, KindBackup, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, b := range backups {
			if b.Status == BackupCreating || b.Status == BackupDeleting {
				keys = append(keys, key{KindBackup, b.ID})
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		q.add(k)
	}
	return rev, nil
}

// Reconcile converges one record. It is exported for tests, which run it
// step by step.
func (s *Service) Reconcile(ctx context.Context, kind, id string) error {
	switch kind {
	case KindVolume:
		return s.reconcileVolume(ctx, id)
	case KindSnapshot:
		return s.reconcileSnapshot(ctx, id)
	case KindBackup:
		return s.reconcileBackup(ctx, id)
	}
	return nil
}

// serviceCtx acts for project with admin rights towards other services
// (the Image service), as Cinder does with its service user.
func serviceCtx(ctx context.Context, project, user string) context.Context {
	return policy.NewContext(ctx, &policy.Credentials{UserID: user, ProjectID: project,
		Roles: []string{policy.RoleAdmin, policy.RoleMember, policy.RoleReader}})
}

func readRecord[T any](ctx context.Context, st store.Store, kind, id string) (*T, error) {
	var v *T
	err := st.Read(ctx, func(tx store.ReadTx) (err error) {
		v, err = store.Get[T](tx, kind, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

func (s *Service) reconcileVolume(ctx context.Context, id string) error {
	v, err := readRecord[Volume](ctx, s.st, KindVolume, id)
	if err != nil || v == nil || v.Pending == nil {
		return err
	}
	work := *v.Pending
	log := s.log.With(keyVolume, id, "op", work.Op)
	log.Debug("volume work started")
	werr := s.doVolumeWork(ctx, v, work)
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: the next start resumes
	}
	if werr != nil {
		log.Warn("volume work failed", logkey.Err, werr)
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		cur, err := store.Get[Volume](tx, KindVolume, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Pending == nil || !reflect.DeepEqual(*cur.Pending, work) {
			return nil // the desired state changed meanwhile; its own pass follows
		}
		cur.Pending = nil
		if werr != nil {
			cur.Error = werr.Error()
		}
		switch work.Op {
		case OpCreate:
			cur.Status = StatusAvailable
			if werr != nil {
				cur.Status = StatusError
				if err := s.recordVolumeFailure(tx, cur, work.RequestID, werr); err != nil {
					return err
				}
			}
		case OpExtend:
			cur.Status = work.Then
			if werr != nil {
				cur.Status = StatusErrorExtending
			} else {
				cur.Size = work.Size
			}
		case OpUpload:
			cur.Status = work.Then
		case OpRestore:
			cur.Status = StatusAvailable
			if werr != nil {
				cur.Status = StatusErrorRestoring
			}
			b, err := store.Get[Backup](tx, KindBackup, work.BackupID)
			if err == nil && werr == nil {
				if cur.Metadata == nil {
					cur.Metadata = map[string]string{}
				}
				for k, val := range b.VolumeMetadata {
					cur.Metadata[k] = val
				}
			}
			if err == nil && b.Status == BackupRestoring {
				b.Status, b.RestoreTo, b.UpdatedAt = BackupAvailable, "", s.now()
				if err := tx.Update(backupRecord(b)); err != nil {
					return err
				}
			}
		case OpDelete:
			if werr != nil {
				cur.Status = StatusErrorDeleting
				break
			}
			if work.Cascade {
				snaps, err := store.List[Snapshot](tx, KindSnapshot, store.ListOptions{Ref: cur.ProjectID})
				if err != nil {
					return err
				}
				for _, sn := range snaps {
					if sn.VolumeID == id {
						if err := tx.Delete(KindSnapshot, sn.ID); err != nil {
							return err
						}
					}
				}
			}
			return tx.Delete(KindVolume, id)
		}
		return s.putVolume(tx, cur)
	})
}

func (s *Service) doVolumeWork(ctx context.Context, v *Volume, w Work) error {
	size := w.Size * blockdev.GiB
	switch w.Op {
	case OpCreate:
		if err := s.placeable(ctx, v.TypeID); err != nil {
			return err
		}
		switch {
		case v.SnapshotID != "":
			return s.drv.CreateFromSnapshot(ctx, v.SnapshotID, v.ID, size, v.Format)
		case v.SourceVolID != "":
			return s.drv.Clone(ctx, v.SourceVolID, v.ID, size, v.Format)
		case w.ImageID != "":
			if s.images == nil {
				return errors.New("no image service")
			}
			rc, _, _, err := s.images.Download(serviceCtx(ctx, v.ProjectID, v.UserID), w.ImageID)
			if err != nil {
				return err
			}
			if rc == nil {
				return fmt.Errorf("image %s has no data", w.ImageID)
			}
			defer rc.Close()
			return s.drv.CopyFromImage(ctx, v.ID, rc, w.DiskFormat, size, v.Format)
		}
		return s.drv.Create(ctx, v.ID, size, v.Format)
	case OpExtend:
		return s.drv.Extend(ctx, v.ID, size)
	case OpUpload:
		pr, pw := io.Pipe()
		var wg sync.WaitGroup
		wg.Go(func() { pw.CloseWithError(s.drv.CopyToImage(ctx, v.ID, pw, w.DiskFormat)) })
		_, err := s.images.Upload(serviceCtx(ctx, v.ProjectID, v.UserID), w.ImageID, pr, -1)
		pr.CloseWithError(errors.New("upload ended"))
		wg.Wait()
		return err
	case OpRestore:
		key := backupKey(w.BackupID)
		if b, err := readRecord[Backup](ctx, s.st, KindBackup, w.BackupID); err == nil && b != nil {
			key = b.dataKey()
		}
		rc, _, err := s.backups.Open(ctx, key)
		if err != nil {
			return err
		}
		defer rc.Close()
		zr, err := gzip.NewReader(rc)
		if err != nil {
			return err
		}
		return s.drv.CopyFromImage(ctx, v.ID, zr, "raw", size, v.Format)
	case OpDelete:
		if w.Cascade {
			var snaps []Snapshot
			if err := s.st.Read(ctx, func(tx store.ReadTx) (err error) {
				snaps, err = store.List[Snapshot](tx, KindSnapshot, store.ListOptions{Ref: v.ProjectID})
				return err
			}); err != nil {
				return err
			}
			for _, sn := range snaps {
				if sn.VolumeID == v.ID {
					if err := s.drv.DeleteSnapshot(ctx, sn.ID); err != nil {
						return err
					}
				}
			}
		}
		return s.drv.Delete(ctx, v.ID)
	}
	return fmt.Errorf("unknown volume work %q", w.Op)
}

// placeable is Cinder's capabilities filter with one backend: a type whose
// extra specs ask for a backend name, protocol or vendor this backend does
// not have leaves the volume in error ("No valid backend").
func (s *Service) placeable(ctx context.Context, typeID string) error {
	if svc, err := readRecord[ServiceState](ctx, s.st, KindServiceState, BinaryVolume); err != nil {
		return err
	} else if svc != nil && svc.Disabled {
		return fmt.Errorf("%w: the volume service is disabled", errNoValidBackend)
	}
	t, err := readRecord[Type](ctx, s.st, KindType, typeID)
	if err != nil || t == nil {
		return err
	}
	caps := map[string]string{"volume_backend_name": s.drv.Name(), "storage_protocol": "file", "vendor_name": "Nubo"}
	for k, want := range t.ExtraSpecs {
		k = strings.TrimPrefix(k, "capabilities:")
		have, ok := caps[k]
		want = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(want), "<in>"))
		if ok && !strings.EqualFold(have, want) {
			return fmt.Errorf("%w: %s=%q is not offered (%s)", errNoValidBackend, k, want, have)
		}
	}
	return nil
}

func (s *Service) reconcileSnapshot(ctx context.Context, id string) error {
	sn, err := readRecord[Snapshot](ctx, s.st, KindSnapshot, id)
	if err != nil || sn == nil || sn.Pending == "" {
		return err
	}
	op := sn.Pending
	var werr error
	if op == OpCreate {
		werr = s.drv.Snapshot(ctx, sn.VolumeID, sn.ID)
	} else {
		werr = s.drv.DeleteSnapshot(ctx, sn.ID)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if werr != nil {
		s.log.Warn("snapshot work failed", keySnapshot, id, logkey.Err, werr)
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		cur, err := store.Get[Snapshot](tx, KindSnapshot, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil || cur.Pending != op {
			return err
		}
		cur.Pending = ""
		switch {
		case op == OpDelete && werr == nil:
			err = tx.Delete(KindSnapshot, id)
		case op == OpDelete:
			cur.Status, cur.Error = StatusErrorDeleting, werr.Error()
		case werr != nil:
			cur.Status, cur.Error = StatusError, werr.Error()
		default:
			cur.Status, cur.Progress = StatusAvailable, "100%"
		}
		if err == nil && (op != OpDelete || werr != nil) {
			cur.UpdatedAt = s.now()
			err = tx.Update(snapshotRecord(cur))
		}
		if err == nil && cur.GroupSnapshotID != "" {
			err = s.settleGroupSnapshot(tx, cur.GroupSnapshotID)
		}
		return err
	})
}

func (s *Service) reconcileBackup(ctx context.Context, id string) error {
	b, err := readRecord[Backup](ctx, s.st, KindBackup, id)
	if err != nil || b == nil || (b.Status != BackupCreating && b.Status != BackupDeleting) {
		return err
	}
	status := b.Status
	var werr error
	if status == BackupCreating {
		werr = s.writeBackup(ctx, b)
	} else if shared, err := s.backupDataShared(ctx, b); err != nil {
		werr = err
	} else if !shared {
		if err := s.backups.Delete(ctx, b.dataKey()); err != nil && !errors.Is(err, blob.ErrNotFound) {
			werr = err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if werr != nil {
		s.log.Warn("backup work failed", keyBackup, id, logkey.Err, werr)
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		cur, err := store.Get[Backup](tx, KindBackup, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil || cur.Status != status {
			return err
		}
		if status == BackupDeleting {
			if werr == nil {
				return tx.Delete(KindBackup, id)
			}
			cur.Status, cur.FailReason = BackupError, werr.Error()
		} else {
			cur.Status, cur.ObjectCount = BackupAvailable, 1
			if werr != nil {
				cur.Status, cur.FailReason, cur.ObjectCount = BackupError, werr.Error(), 0
			}
			if v, err := store.Get[Volume](tx, KindVolume, cur.VolumeID); err == nil && v.Status == StatusBackingUp {
				v.Status = cur.Then
				if err := s.putVolume(tx, v); err != nil {
					return err
				}
			}
		}
		cur.UpdatedAt = s.now()
		return tx.Update(backupRecord(cur))
	})
}

// writeBackup streams the volume, raw and gzip-compressed, into the
// backup store; the blob is committed only when complete.
func (s *Service) writeBackup(ctx context.Context, b *Backup) error {
	w, err := s.backups.Create(ctx, backupKey(b.ID))
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(w)
	err = s.drv.CopyToImage(ctx, b.VolumeID, zw, "raw")
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		w.Abort() //nolint:errcheck // the copy error is the one to report
		return err
	}
	return w.Commit()
}

// Log attribute keys of this package.
const (
	keyVolume   = "volume_id"
	keySnapshot = "snapshot_id"
	keyBackup   = "backup_id"
)
