package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nubo-cloud/nubo/internal/driver/blockdev"
	"github.com/nubo-cloud/nubo/internal/driver/hypervisor/qemu/qemuimg"
)

// Driver keeps volumes as files in Dir.
type Driver struct {
	dir string
	img qemuimg.Tool
	// DefaultFormat is used when a call names no format ("qcow2").
	DefaultFormat string
}

var _ blockdev.Driver = (*Driver)(nil)

// New returns a driver over dir, creating it (0700) if needed. qemuImg is
// the qemu-img binary ("" = from PATH).
func New(dir, qemuImg string) (*Driver, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &Driver{dir: dir, img: qemuimg.Tool{Path: qemuImg}, DefaultFormat: "qcow2"}, nil
}

// Name implements blockdev.Driver.
func (d *Driver) Name() string { return "file" }

// Dir is where the files are.
func (d *Driver) Dir() string { return d.dir }

func checkID(id string) error {
	if id == "" || strings.ContainsAny(id, "/\\.") {
		return fmt.Errorf("blockdev/file: bad id %q", id)
	}
	return nil
}

func (d *Driver) format(f string) (string, error) {
	if f == "" {
		f = d.DefaultFormat
	}
	if f != "qcow2" && f != "raw" {
		return "", fmt.Errorf("blockdev/file: unsupported format %q", f)
	}
	return f, nil
}

func (d *Driver) volPath(id, format string) string {
	return filepath.Join(d.dir, "volume-"+id+"."+format)
}

func (d *Driver) snapPath(id string) string { return filepath.Join(d.dir, "snapshot-"+id+".qcow2") }

// find returns the path and format of volume id's file.
func (d *Driver) find(id string) (string, string, error) {
	if err := checkID(id); err != nil {
		return "", "", err
	}
	for _, f := range []string{"qcow2", "raw"} {
		p := d.volPath(id, f)
		if _, err := os.Stat(p); err == nil {
			return p, f, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", "", err
		}
	}
	return "", "", fmt.Errorf("volume %s: %w", id, blockdev.ErrNotFound)
}

// clear removes every file of volume id (both formats, leftovers).
func (d *Driver) clear(id string) error {
	for _, f := range []string{"qcow2", "raw"} {
		for _, p := range []string{d.volPath(id, f), d.volPath(id, f) + ".part"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// Create implements blockdev.Driver.
func (d *Driver) Create(ctx context.Context, id string, size int64, format string) error {
	f, err := d.format(format)
	if err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	if err := d.clear(id); err != nil {
		return err
	}
	dst := d.volPath(id, f)
	if err := d.img.Create(ctx, dst+".part", f, size); err != nil {
		os.Remove(dst + ".part")
		return err
	}
	return os.Rename(dst+".part", dst)
}

// Delete implements blockdev.Driver.
func (d *Driver) Delete(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	return d.clear(id)
}

// Extend implements blockdev.Driver.
func (d *Driver) Extend(ctx context.Context, id string, size int64) error {
	p, f, err := d.find(id)
	if err != nil {
		return err
	}
	return d.img.Resize(ctx, p, f, size)
}

// Info implements blockdev.Driver.
func (d *Driver) Info(ctx context.Context, id string) (blockdev.Info, error) {
	p, f, err := d.find(id)
	if err != nil {
		return blockdev.Info{}, err
	}
	in, err := d.img.Info(ctx, p, f, true)
	if err != nil {
		return blockdev.Info{}, err
	}
	return blockdev.Info{Format: f, VirtualSize: in.VirtualSize, ActualSize: in.ActualSize}, nil
}

// Connect implements blockdev.Driver.
func (d *Driver) Connect(id string) (blockdev.Connection, error) {
	p, f, err := d.find(id)
	if err != nil {
		return blockdev.Connection{}, err
	}
	return blockdev.Connection{DriverVolumeType: "file", Path: p, Format: f}, nil
}

// copyInto converts src (srcFormat) into a new volume id in format, grown
// to size. Convert writes dst.part and renames it.
func (d *Driver) copyInto(ctx context.Context, src, srcFormat, id string, size int64, format string) error {
	f, err := d.format(format)
	if err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	if err := d.clear(id); err != nil {
		return err
	}
	dst := d.volPath(id, f)
	if err := d.img.Convert(ctx, src, srcFormat, dst, f, true); err != nil {
		return err
	}
	if size > 0 {
		in, err := d.img.Info(ctx, dst, f, false)
		if err != nil {
			return err
		}
		if size > in.VirtualSize {
			return d.img.Resize(ctx, dst, f, size)
		}
	}
	return nil
}

// Snapshot implements blockdev.Driver: a full qcow2 copy, read with -U so
// a guest may have the volume open.
func (d *Driver) Snapshot(ctx context.Context, volID, snapID string) error {
	if err := checkID(snapID); err != nil {
		return err
	}
	p, f, err := d.find(volID)
	if err != nil {
		return err
	}
	return d.img.Convert(ctx, p, f, d.snapPath(snapID), "qcow2", true)
}

// DeleteSnapshot implements blockdev.Driver.
func (d *Driver) DeleteSnapshot(ctx context.Context, snapID string) error {
	if err := checkID(snapID); err != nil {
		return err
	}
	for _, p := range []string{d.snapPath(snapID), d.snapPath(snapID) + ".part"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// CreateFromSnapshot implements blockdev.Driver.
func (d *Driver) CreateFromSnapshot(ctx context.Context, snapID, id string, size int64, format string) error {
	if err := checkID(snapID); err != nil {
		return err
	}
	src := d.snapPath(snapID)
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("snapshot %s: %w", snapID, blockdev.ErrNotFound)
	}
	return d.copyInto(ctx, src, "qcow2", id, size, format)
}

// Clone implements blockdev.Driver.
func (d *Driver) Clone(ctx context.Context, srcID, id string, size int64, format string) error {
	p, f, err := d.find(srcID)
	if err != nil {
		return err
	}
	return d.copyInto(ctx, p, f, id, size, format)
}

// CopyFromImage implements blockdev.Driver. The stream is spooled to a
// temporary file first: qemu-img reads qcow2 non-sequentially.
func (d *Driver) CopyFromImage(ctx context.Context, id string, r io.Reader, srcFormat string, size int64, format string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if srcFormat != "qcow2" {
		srcFormat = "raw"
	}
	tmp, err := os.CreateTemp(d.dir, ".image-"+id+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return d.copyInto(ctx, tmp.Name(), srcFormat, id, size, format)
}

// CopyToImage implements blockdev.Driver.
func (d *Driver) CopyToImage(ctx context.Context, id string, w io.Writer, format string) error {
	p, f, err := d.find(id)
	if err != nil {
		return err
	}
	if format != "qcow2" {
		format = "raw"
	}
	tmp := filepath.Join(d.dir, ".export-"+id+"."+format)
	defer os.Remove(tmp)
	if err := d.img.Convert(ctx, p, f, tmp, format, true); err != nil {
		return err
	}
	fh, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer fh.Close()
	_, err = io.Copy(w, ctxReader{ctx, fh})
	return err
}

// ctxReader stops a long copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
