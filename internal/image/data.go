package image

import (
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/nubo-cloud/nubo/internal/blob"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

// chunkSize is the unit of streaming and pipeDepth the chunks in flight:
// memory per transfer is pipeDepth × chunkSize, whatever the image size.
const (
	chunkSize = 1 << 20
	pipeDepth = 4
)

func dataKey(id string) string   { return "images/" + id }
func stagedKey(id string) string { return "staging/" + id }

// ErrQuota is wrapped by the fault of an upload over the storage quota.
var ErrQuota = errors.New("image storage quota exceeded")

// Digest is what streaming computed.
type Digest struct {
	Size     int64
	Checksum string // MD5, hex
	Hash     string // SHA-512, hex
}

// Upload streams image data (PUT /v2/images/{id}/file) into the blob store:
// queued → saving → active. size is the announced length, or -1. If the
// stream is cut off, fails, or would pass the project's storage quota, the
// image goes back to queued and no bytes are kept or counted.
func (s *Service) Upload(ctx context.Context, id string, r io.Reader, size int64) (*Image, error) {
	return s.receive(ctx, id, r, size, false)
}

// Stage streams data to the staging area (PUT /v2/images/{id}/stage) for a
// later glance-direct import: queued → uploading.
func (s *Service) Stage(ctx context.Context, id string, r io.Reader, size int64) (*Image, error) {
	return s.receive(ctx, id, r, size, true)
}

func (s *Service) receive(ctx context.Context, id string, r io.Reader, size int64, stage bool) (*Image, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	to, key := StatusSaving, dataKey(id)
	if stage {
		to, key = StatusUploading, stagedKey(id)
	}
	var im *Image
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if im, err = getWritable(tx, c, id); err != nil {
			return err
		}
		if !stage && im.Status == StatusQueued && (im.DiskFormat == "" || im.ContainerFormat == "") {
			return badRequest("Properties disk_format, container_format must be set prior to saving data.")
		}
		if err := transition(im, to); err != nil {
			return err
		}
		im.UpdatedAt = s.now()
		return putImage(tx, im)
	})
	if err != nil {
		return nil, err
	}
	d, q, err := s.stream(ctx, im.Owner, key, r, size)
	if err != nil {
		s.revert(context.WithoutCancel(ctx), id, to)
		return nil, err
	}
	err = s.st.Write(ctx, func(tx store.Tx) error {
		cur, err := store.Get[Image](tx, kindImage, id)
		if errors.Is(err, store.ErrNotFound) {
			return fault.New(fault.NotFound, "Image %s could not be found after upload. The image may have been deleted during the upload.", id)
		}
		if err != nil {
			return err
		}
		if cur.Status != to {
			return fault.New(fault.Conflict, "Image %s changed status to %s during the upload.", id, cur.Status)
		}
		if stage {
			cur.StagedKey, cur.StagedSize, cur.StagedChecksum, cur.StagedHash = key, d.Size, d.Checksum, d.Hash
		} else {
			setData(cur, key, d)
		}
		cur.UpdatedAt = s.now()
		im = cur
		return putImage(tx, cur)
	})
	q.release(err == nil)
	if err != nil {
		s.blobs.Delete(context.WithoutCancel(ctx), key) //nolint:errcheck // the record is gone or moved on
		return nil, err
	}
	return im, nil
}

func setData(im *Image, key string, d Digest) {
	im.Size = &d.Size
	im.Checksum, im.HashAlgo, im.HashValue = d.Checksum, HashAlgo, d.Hash
	im.BlobKey, im.Stores, im.Status = key, StoreID, StatusActive
}

// revert puts an image whose data did not arrive back to queued.
func (s *Service) revert(ctx context.Context, id, from string) {
	err := s.st.Write(ctx, func(tx store.Tx) error {
		im, err := store.Get[Image](tx, kindImage, id)
		if err != nil || im.Status != from {
			return err
		}
		im.Status = StatusQueued
		im.UpdatedAt = s.now()
		return putImage(tx, im)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.ErrorContext(ctx, "image status not reverted", "image_id", id, "err", err)
	}
}

// stream copies r into a new blob under key, hashing as it goes and
// charging every chunk to owner's quota before it is written. On any error
// the blob is aborted: nothing is kept and nothing stays charged.
//
// On success the bytes stay charged until the caller has recorded them and
// calls q.release(true).
func (s *Service) stream(ctx context.Context, owner, key string, r io.Reader, size int64) (d Digest, _ *quota, err error) {
	q, err := s.openQuota(ctx, owner)
	if err != nil {
		return Digest{}, nil, err
	}
	defer func() {
		if err != nil {
			q.release(false)
		}
	}()
	if size > 0 {
		if err := q.check(size); err != nil {
			return Digest{}, nil, err
		}
	}
	w, err := s.blobs.Create(ctx, key)
	if err != nil {
		return Digest{}, nil, err
	}
	d, err = copyHashed(ctx, w, r, q.charge)
	if err == nil && size >= 0 && d.Size != size {
		err = fault.New(fault.BadRequest, "Image data size %d does not match the announced size %d.", d.Size, size)
	}
	if err != nil {
		w.Abort() //nolint:errcheck // the error that matters is err
		return Digest{}, nil, err
	}
	if err = w.Commit(); err != nil {
		return Digest{}, nil, fmt.Errorf("store image data: %w", err)
	}
	return d, q, nil
}

// copyHashed copies src to dst in chunks through a pipeline: one reader
// (this goroutine) and three stages on their own goroutines, MD5, SHA-512
// and the write, each taking every chunk in order at its own pace. A chunk
// goes back to the free ring once all three are done with it, so the
// stages overlap each other and the next reads instead of waiting for the
// slowest one chunk by chunk; memory is pipeDepth chunks whatever the size.
// charge is called with each chunk's length before it is handed on.
func copyHashed(ctx context.Context, dst io.Writer, src io.Reader, charge func(int64) error) (Digest, error) {
	type chunk struct {
		b    []byte
		left atomic.Int32 // stages still holding the chunk
	}
	free := make(chan *chunk, pipeDepth)
	for range pipeDepth {
		free <- &chunk{b: make([]byte, chunkSize)}
	}
	done := func(c *chunk) {
		if c.left.Add(-1) == 0 {
			free <- c
		}
	}
	md, sh := md5.New(), sha512.New()
	var werr atomic.Pointer[error]
	stages := []func([]byte){
		func(b []byte) { md.Write(b) },
		func(b []byte) { sh.Write(b) },
		func(b []byte) {
			if werr.Load() != nil {
				return
			}
			if _, err := dst.Write(b); err != nil {
				err = fmt.Errorf("write image data: %w", err)
				werr.Store(&err)
			}
		},
	}
	var wg sync.WaitGroup
	queues := make([]chan *chunk, len(stages))
	for i, stage := range stages {
		queues[i] = make(chan *chunk, pipeDepth)
		q := queues[i]
		wg.Go(func() {
			for c := range q {
				stage(c.b)
				done(c)
			}
		})
	}
	finish := func() {
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}
	var total int64
	for {
		c := <-free
		n, rerr := fill(src, c.b[:chunkSize])
		err := ctx.Err()
		if err == nil && n > 0 {
			err = charge(int64(n))
		}
		if err == nil && rerr != nil && rerr != io.EOF {
			err = fault.Wrap(fault.BadRequest, rerr, "Error reading the image data: the upload was cut off.")
		}
		if e := werr.Load(); err == nil && e != nil {
			err = *e
		}
		if err != nil {
			finish()
			return Digest{}, err
		}
		if n > 0 {
			c.b = c.b[:n]
			c.left.Store(int32(len(stages)))
			for _, q := range queues {
				q <- c
			}
			total += int64(n)
		} else {
			free <- c
		}
		if rerr == io.EOF {
			break
		}
	}
	finish()
	if e := werr.Load(); e != nil {
		return Digest{}, *e
	}
	return Digest{Size: total, Checksum: hex.EncodeToString(md.Sum(nil)), Hash: hex.EncodeToString(sh.Sum(nil))}, nil
}

// fill reads until buf is full, returning io.EOF only at a clean end of
// stream (a truncated body reports its own error, such as
// io.ErrUnexpectedEOF).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// quota charges streamed bytes to a project.
type quota struct {
	s     *Service
	owner string
	// base is the project's stored bytes when the upload started, minus
	// the commits counter then, so later commits by other uploads count.
	base, charged int64
	commitsAt     int64
}

func (s *Service) openQuota(ctx context.Context, owner string) (*quota, error) {
	q := &quota{s: s, owner: owner}
	if s.cfg.StorageQuota <= 0 {
		return q, nil
	}
	s.mu.Lock()
	q.commitsAt = s.committed[owner]
	s.mu.Unlock()
	used, err := s.Usage(ctx, owner)
	if err != nil {
		return nil, err
	}
	q.base = used
	return q, nil
}

func (q *quota) used() int64 {
	return q.base + q.s.reserved[q.owner] + (q.s.committed[q.owner] - q.commitsAt)
}

func (q *quota) overErr(n int64) error {
	limit := q.s.cfg.StorageQuota
	left := max(limit-q.used(), 0)
	return fault.Wrap(fault.OverLimit, ErrQuota, fmt.Sprintf(
		"Denying attempt to upload image because it exceeds the quota: The size of the data %d will exceed the limit. %d bytes remaining.", n, left))
}

// check rejects an announced size that cannot fit.
func (q *quota) check(size int64) error {
	if q.s.cfg.StorageQuota <= 0 {
		return nil
	}
	q.s.mu.Lock()
	defer q.s.mu.Unlock()
	if q.used()+size > q.s.cfg.StorageQuota {
		return q.overErr(size)
	}
	return nil
}

func (q *quota) charge(n int64) error {
	if q.s.cfg.StorageQuota <= 0 {
		return nil
	}
	q.s.mu.Lock()
	defer q.s.mu.Unlock()
	if q.used()+n > q.s.cfg.StorageQuota {
		return q.overErr(q.charged + n)
	}
	q.charged += n
	q.s.reserved[q.owner] += n
	return nil
}

// release drops the reservation; bytes now recorded as stored (kept) move
// to the commits counter so concurrent uploads keep counting them.
func (q *quota) release(kept bool) {
	q.s.mu.Lock()
	q.s.reserved[q.owner] -= q.charged
	if kept {
		q.s.committed[q.owner] += q.charged
	}
	q.charged = 0
	q.s.mu.Unlock()
}

// Usage returns the bytes of image data (stored and staged) owner holds.
func (s *Service) Usage(ctx context.Context, owner string) (int64, error) {
	var used int64
	err := s.st.Read(ctx, func(tx store.ReadTx) error {
		ims, err := store.List[Image](tx, kindImage, store.ListOptions{Ref: owner})
		if err != nil {
			return err
		}
		for _, im := range ims {
			if im.BlobKey != "" && im.Size != nil {
				used += *im.Size
			}
			used += im.StagedSize
		}
		return nil
	})
	return used, err
}

// Download returns an image's data and the image. A nil reader means the
// image has no data yet (Glance answers 204). Deactivated images are 403
// to everyone but admins.
func (s *Service) Download(ctx context.Context, id string) (io.ReadSeekCloser, int64, *Image, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, 0, nil, err
	}
	var im *Image
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		im, err = getVisible(tx, c, id)
		return err
	})
	if err != nil {
		return nil, 0, nil, err
	}
	if im.Status == StatusDeactivated && !c.IsAdmin() {
		return nil, 0, nil, forbidden("The requested image has been deactivated. Image data download is forbidden.")
	}
	if im.BlobKey == "" {
		return nil, 0, im, nil
	}
	rc, n, err := s.blobs.Open(ctx, im.BlobKey)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, 0, nil, fault.Wrap(fault.NotFound, err, fmt.Sprintf("Image %s data is missing from the store.", id))
	}
	if err != nil {
		return nil, 0, nil, err
	}
	return rc, n, im, nil
}
