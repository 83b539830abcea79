package image

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/blob"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/logkey"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Properties the service keeps on an image during and after an import.
const (
	propImporting    = "os_glance_importing_to_stores"
	propFailedImport = "os_glance_failed_import"
)

// Task statuses.
const (
	TaskPending    = "pending"
	TaskProcessing = "processing"
	TaskSuccess    = "success"
	TaskFailure    = "failure"
)

// ImportRequest is the body of POST /v2/images/{id}/import.
type ImportRequest struct {
	Method string
	// URI is web-download's source.
	URI string
	// Stores names target stores; only "file" exists.
	Stores []string
	// Raw is the request body, kept in the task's input.
	Raw map[string]any
}

// Methods returns the import methods this service can run.
func (s *Service) Methods() []string {
	if s.cfg.Fetch == nil {
		return []string{MethodGlanceDirect}
	}
	return slices.Clone(ImportMethods)
}

// Import starts an interoperable import. glance-direct moves staged data
// in place (uploading → importing → active) before returning; web-download
// fetches the URI in the background (queued → importing → active), and a
// failure puts the image back to queued with os_glance_failed_import set.
func (s *Service) Import(ctx context.Context, id string, req ImportRequest) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(s.Methods(), req.Method) {
		return badRequest("Import method %s is not valid. Valid methods are: %v", req.Method, s.Methods())
	}
	for _, st := range req.Stores {
		if st != StoreID {
			return fault.New(fault.Conflict, "Unknown store %s", st)
		}
	}
	if req.Method == MethodWebDownload {
		u, err := url.Parse(req.URI)
		if req.URI == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return badRequest("URI for web-download does not pass filtering: %s", req.URI)
		}
	}
	now := s.now()
	task := &Task{ID: newID(), ImageID: id, Type: "api_image_import", Status: TaskProcessing, Owner: c.ProjectID,
		Input:     map[string]any{"image_id": id, "import_req": req.Raw, "backend": []string{StoreID}},
		RequestID: logkey.RequestIDFrom(ctx), UserID: c.UserID, CreatedAt: now, UpdatedAt: now}
	var im *Image
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if im, err = getWritable(tx, c, id); err != nil {
			return err
		}
		if im.DiskFormat == "" || im.ContainerFormat == "" {
			return badRequest("'disk_format' and 'container_format' must be set prior to import.")
		}
		switch {
		case req.Method == MethodGlanceDirect && im.Status != StatusUploading:
			return fault.New(fault.Conflict, "Image needs to be staged before 'glance-direct' method can be used")
		case req.Method == MethodWebDownload && im.Status != StatusQueued:
			return fault.New(fault.Conflict, "Image needs to be in 'queued' state to use 'web-download' method")
		}
		if err := transition(im, StatusImporting); err != nil {
			return err
		}
		setProp(im, propImporting, StoreID)
		setProp(im, propFailedImport, "")
		im.UpdatedAt = now
		if err := putImage(tx, im); err != nil {
			return err
		}
		return tx.Create(store.Record{Kind: kindTask, ID: task.ID, Ref: id, Value: task})
	})
	if err != nil {
		return err
	}
	if req.Method == MethodGlanceDirect {
		d, key, err := s.moveStaged(ctx, im)
		return s.finishImport(context.WithoutCancel(ctx), im, task, d, key, err)
	}
	// The import outlives the request; the service owns it (Close waits).
	actx := policy.NewContext(s.bg, c)
	actx, cancel := context.WithTimeout(actx, s.cfg.ImportTimeout)
	s.imports.Add(1)
	go func() {
		defer s.imports.Done()
		defer cancel()
		d, key, err := s.download(actx, im, req.URI)
		s.finishImport(context.WithoutCancel(actx), im, task, d, key, err) //nolint:errcheck // logged; the outcome is on the task
	}()
	return nil
}

func setProp(im *Image, k, v string) {
	if im.Properties == nil {
		im.Properties = map[string]string{}
	}
	im.Properties[k] = v
}

// moveStaged renames the staged blob into place; its digest was computed
// while staging.
func (s *Service) moveStaged(ctx context.Context, im *Image) (Digest, string, error) {
	key := dataKey(im.ID)
	if err := s.blobs.Rename(ctx, im.StagedKey, key); err != nil {
		if errors.Is(err, blob.ErrNotFound) {
			return Digest{}, "", fault.Wrap(fault.Conflict, err, "Staged image data not found.")
		}
		return Digest{}, "", err
	}
	return Digest{Size: im.StagedSize, Checksum: im.StagedChecksum, Hash: im.StagedHash}, key, nil
}

func (s *Service) download(ctx context.Context, im *Image, uri string) (Digest, string, error) {
	rc, err := s.cfg.Fetch(ctx, uri)
	if err != nil {
		return Digest{}, "", err
	}
	defer rc.Close()
	key := dataKey(im.ID)
	d, q, err := s.stream(ctx, im.Owner, key, rc, -1)
	if err != nil {
		return Digest{}, "", err
	}
	q.release(true)
	return d, key, nil
}

// finishImport records the outcome of an import on the image and its task.
func (s *Service) finishImport(ctx context.Context, im *Image, task *Task, d Digest, key string, ierr error) error {
	err := s.st.Write(ctx, func(tx store.Tx) error {
		cur, err := store.Get[Image](tx, kindImage, im.ID)
		if errors.Is(err, store.ErrNotFound) {
			if ierr == nil {
				ierr = fmt.Errorf("image %s deleted during import", im.ID)
			}
			return nil
		}
		if err != nil {
			return err
		}
		delete(cur.Properties, propImporting)
		if ierr == nil && cur.Status == StatusImporting {
			setData(cur, key, d)
			cur.StagedKey, cur.StagedSize, cur.StagedChecksum, cur.StagedHash = "", 0, "", ""
			setProp(cur, propFailedImport, "")
		} else {
			if ierr == nil {
				ierr = fmt.Errorf("image %s left importing (now %s)", im.ID, cur.Status)
			}
			if cur.Status == StatusImporting {
				cur.Status = StatusQueued
				if cur.StagedKey != "" {
					cur.Status = StatusUploading
				}
			}
			setProp(cur, propFailedImport, StoreID)
		}
		cur.UpdatedAt = s.now()
		if err := putImage(tx, cur); err != nil {
			return err
		}
		t := *task
		t.Status, t.UpdatedAt = TaskSuccess, s.now()
		exp := t.UpdatedAt.Add(48 * time.Hour)
		t.ExpiresAt = &exp
		if ierr != nil {
			t.Status, t.Message = TaskFailure, ierr.Error()
		} else {
			t.Result = map[string]any{"image_id": im.ID}
		}
		err = tx.Update(store.Record{Kind: kindTask, ID: t.ID, Ref: im.ID, Value: t})
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "import outcome not recorded", "image_id", im.ID, "err", err)
		return err
	}
	if ierr != nil {
		s.log.WarnContext(ctx, "image import failed", "image_id", im.ID, "err", ierr)
		if key != "" {
			s.blobs.Delete(ctx, key) //nolint:errcheck // best effort
		}
	}
	return nil
}

// ListTasks returns the import tasks of an image the caller may see.
func (s *Service) ListTasks(ctx context.Context, id string) ([]Task, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []Task
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		if _, err := getVisible(tx, c, id); err != nil {
			return err
		}
		out, err = store.List[Task](tx, kindTask, store.ListOptions{Ref: id})
		return err
	})
	return out, err
}
