package agent

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// image returns the path of image id in the cache (qcow2), downloading it
// first if needed: to a temporary file, checked (size, Glance's MD5
// checksum, format), converted to qcow2 if it is raw, then renamed into
// place. One download at a time per image.
func (a *Agent) image(ctx context.Context, id string) (string, error) {
	if !hypervisor.ValidID(id) {
		return "", fmt.Errorf("image ID %q", id)
	}
	path := filepath.Join(a.imageDir(), id)
	if exists(path) {
		return path, nil
	}
	mu := a.imageLock(id)
	mu.Lock()
	defer mu.Unlock()
	if exists(path) {
		return path, nil
	}
	rc, info, err := a.cfg.Control.Image(ctx, id)
	if errors.Is(err, hostapi.ErrNotFound) {
		return "", fmt.Errorf("image %s not found", id)
	}
	if err != nil {
		return "", retryLater("download image %s: %w", id, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(a.imageDir(), "."+id+"-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	sum := md5.New()
	n, err := io.Copy(io.MultiWriter(tmp, sum), rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", retryLater("download image %s: %w", id, err)
	}
	if info == nil {
		info = &hostapi.ImageInfo{ID: id}
	}
	if info.Size > 0 && n != info.Size {
		return "", retryLater("download image %s: got %d bytes, want %d", id, n, info.Size)
	}
	if len(info.Checksum) == 32 && hex.EncodeToString(sum.Sum(nil)) != info.Checksum {
		return "", fmt.Errorf("image %s: checksum mismatch", id)
	}
	switch info.DiskFormat {
	case "qcow2":
		// Never let an image name a backing file: it could point at any
		// file on the host.
		in, err := a.disks.Info(ctx, tmp.Name(), "qcow2", false)
		if err != nil {
			return "", fmt.Errorf("image %s: %w", id, err)
		}
		if in.BackingFilename != "" {
			return "", fmt.Errorf("image %s: qcow2 images with a backing file are refused", id)
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return "", err
		}
	case "raw":
		if err := a.disks.Convert(ctx, tmp.Name(), "raw", path, "qcow2", false); err != nil {
			return "", fmt.Errorf("image %s: %w", id, err)
		}
	default:
		return "", fmt.Errorf("image %s: disk_format %q cannot boot here (qcow2 or raw)", id, info.DiskFormat)
	}
	a.log.InfoContext(ctx, "image cached", "image_id", id, "bytes", n, "disk_format", info.DiskFormat)
	return path, nil
}

func (a *Agent) imageLock(id string) *sync.Mutex {
	a.imgMu.Lock()
	defer a.imgMu.Unlock()
	mu, ok := a.imgLocks[id]
	if !ok {
		mu = &sync.Mutex{}
		a.imgLocks[id] = mu
	}
	return mu
}

// pruneImages removes cached images that no server in st has used for
// ImageCacheTTL (counted from when this agent last saw one use it, or from
// its start). Overlays need their base, so an image a server uses (root or
// rescue) is always kept.
func (a *Agent) pruneImages(ctx context.Context, st *hostapi.State) {
	now := time.Now()
	a.imgMu.Lock()
	defer a.imgMu.Unlock()
	for _, srv := range st.Servers {
		for _, id := range []string{srv.ImageID, srv.RescueImageID} {
			if id != "" {
				a.imgUsed[id] = now
			}
		}
	}
	entries, err := os.ReadDir(a.imageDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		id := e.Name()
		if strings.HasPrefix(id, ".") || strings.HasSuffix(id, ".part") {
			continue // a download in progress
		}
		used, ok := a.imgUsed[id]
		if !ok {
			a.imgUsed[id], used = now, now
		}
		if now.Sub(used) < a.cfg.ImageCacheTTL {
			continue
		}
		if mu, ok := a.imgLocks[id]; ok && !mu.TryLock() {
			continue
		} else if ok {
			defer mu.Unlock()
		}
		a.log.InfoContext(ctx, "removing unused cached image", "image_id", id)
		if err := os.Remove(filepath.Join(a.imageDir(), id)); err != nil {
			a.log.WarnContext(ctx, "remove cached image", "image_id", id, "err", err)
		}
		delete(a.imgUsed, id)
	}
}
