package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Dir is where named namespaces are bind-mounted, as with `ip netns add`.
const Dir = "/run/netns"

// Path returns the file that names the namespace. "" stays "" (the current
// namespace) and an absolute path is returned unchanged.
func Path(name string) string {
	if name == "" || strings.HasPrefix(name, "/") {
		return name
	}
	return filepath.Join(Dir, name)
}

// Exists reports whether the named namespace exists.
func Exists(name string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(Path(name), &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}

// Create makes the named namespace if it does not exist yet. The calling
// goroutine's thread is not left in the new namespace.
func Create(name string) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return fmt.Errorf("create netns %q: invalid name", name)
	}
	if Exists(name) {
		return nil
	}
	// A file left behind by an interrupted create is not a namespace: drop it.
	_ = os.Remove(Path(name))
	runtime.LockOSThread()
	orig, err := vns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("create netns %s: %w", name, err)
	}
	defer orig.Close()
	h, cerr := vns.NewNamed(name)
	if cerr == nil {
		h.Close()
	}
	if err := vns.Set(orig); err != nil {
		// The thread is in an unknown namespace: keep it locked so the
		// runtime throws it away when the goroutine exits.
		return fmt.Errorf("create netns %s: restore thread namespace: %w", name, err)
	}
	runtime.UnlockOSThread()
	if cerr != nil {
		return fmt.Errorf("create netns %s: %w", name, cerr)
	}
	return nil
}

// Delete removes the named namespace; a missing one is not an error. The
// namespace itself lives on while a process or socket still holds it.
func Delete(name string) error {
	p := Path(name)
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	return nil
}

// List returns the names of the namespaces under Dir that start with prefix,
// sorted.
func List(prefix string) ([]string, error) {
	ents, err := os.ReadDir(Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list netns: %w", err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// Open returns a handle on the named namespace ("" is the calling thread's).
// The caller closes it.
func Open(name string) (vns.NsHandle, error) {
	if name == "" {
		return vns.Get()
	}
	h, err := vns.GetFromPath(Path(name))
	if err != nil {
		return vns.None(), fmt.Errorf("open netns %s: %w", name, err)
	}
	return h, nil
}

// Do runs fn on the calling goroutine's OS thread switched into the named
// namespace ("" runs fn as is). Sockets and devices fn creates stay in that
// namespace; so does a child process started by fn (fork happens on this
// thread). Goroutines started by fn run elsewhere and are NOT in it.
func Do(name string, fn func() error) error {
	if name == "" {
		return fn()
	}
	target, err := Open(name)
	if err != nil {
		return err
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := vns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns %s: %w", name, err)
	}
	defer orig.Close()
	if err := vns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter netns %s: %w", name, err)
	}
	ferr := fn()
	if err := vns.Set(orig); err != nil {
		return errors.Join(ferr, fmt.Errorf("leave netns %s: %w", name, err))
	}
	runtime.UnlockOSThread()
	return ferr
}
