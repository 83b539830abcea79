package qemuimg

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Tool runs one qemu-img binary.
type Tool struct {
	// Path of qemu-img; "" means "qemu-img" from $PATH.
	Path string
}

// Info is the part of `qemu-img info --output=json` callers need.
type Info struct {
	Filename            string `json:"filename"`
	Format              string `json:"format"`
	VirtualSize         int64  `json:"virtual-size"`
	ActualSize          int64  `json:"actual-size"`
	BackingFilename     string `json:"backing-filename,omitempty"`
	FullBackingFilename string `json:"full-backing-filename,omitempty"`
	BackingFormat       string `json:"backing-filename-format,omitempty"`
	Dirty               bool   `json:"dirty-flag,omitempty"`
}

func (t Tool) run(ctx context.Context, args ...string) ([]byte, error) {
	bin := t.Path
	if bin == "" {
		bin = "qemu-img"
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("qemu-img %s: %w", args[0], ctx.Err())
		}
		return nil, fmt.Errorf("qemu-img %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func checkFormat(f string) error {
	switch f {
	case "qcow2", "raw":
		return nil
	}
	return fmt.Errorf("qemuimg: unsupported format %q", f)
}

// Create makes an empty image of size bytes.
func (t Tool) Create(ctx context.Context, path, format string, size int64) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	_, err := t.run(ctx, "create", "-q", "-f", format, path, strconv.FormatInt(size, 10))
	return err
}

// CreateOverlay makes a qcow2 image at path whose backing file is base (of
// baseFormat), the fast way to give a server its root disk. size 0 keeps
// the base image's virtual size; a larger size grows the disk (flavor
// root_gb). base must stay in place for as long as the overlay exists.
func (t Tool) CreateOverlay(ctx context.Context, base, baseFormat, path string, size int64) error {
	if err := checkFormat(baseFormat); err != nil {
		return err
	}
	args := []string{"create", "-q", "-f", "qcow2", "-b", base, "-F", baseFormat, path}
	if size > 0 {
		args = append(args, strconv.FormatInt(size, 10))
	}
	_, err := t.run(ctx, args...)
	return err
}

// Convert copies src (in srcFormat) to
// dst in dstFormat, flattening any backing chain. With shared it opens src
// without taking QEMU's image lock (-U), which is only safe when the guest
// using src is paused or its disk is read-only. dst is written to a
// temporary name and renamed into place, so a failed convert leaves no
// partial dst.
func (t Tool) Convert(ctx context.Context, src, srcFormat, dst, dstFormat string, shared bool) error {
	if err := checkFormat(srcFormat); err != nil {
		return err
	}
	if err := checkFormat(dstFormat); err != nil {
		return err
	}
	tmp := dst + ".part"
	args := []string{"convert", "-q", "-f", srcFormat, "-O", dstFormat}
	if shared {
		args = append(args, "-U")
	}
	args = append(args, src, tmp)
	if _, err := t.run(ctx, args...); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Resize sets the virtual size of a stopped guest's image to size bytes.
// Shrinking is refused (it would destroy data).
func (t Tool) Resize(ctx context.Context, path, format string, size int64) error {
	if err := checkFormat(format); err != nil {
		return err
	}
	info, err := t.Info(ctx, path, format, false)
	if err != nil {
		return err
	}
	if size < info.VirtualSize {
		return fmt.Errorf("qemuimg: refusing to shrink %s from %d to %d bytes", path, info.VirtualSize, size)
	}
	if size == info.VirtualSize {
		return nil
	}
	_, err = t.run(ctx, "resize", "-q", "-f", format, path, strconv.FormatInt(size, 10))
	return err
}

// Info describes the image at path. format "" lets qemu-img probe, which is
// only safe for images Nubo wrote itself; pass the format for uploaded
// images. shared (-U) reads an image that a running QEMU holds open.
func (t Tool) Info(ctx context.Context, path, format string, shared bool) (Info, error) {
	args := []string{"info", "--output=json"}
	if format != "" {
		if err := checkFormat(format); err != nil {
			return Info{}, err
		}
		args = append(args, "-f", format)
	}
	if shared {
		args = append(args, "-U")
	}
	out, err := t.run(ctx, append(args, path)...)
	if err != nil {
		return Info{}, err
	}
	var info Info
	if err := json.Unmarshal(out, &info); err != nil {
		return Info{}, fmt.Errorf("qemu-img info %s: %w", path, err)
	}
	return info, nil
}
