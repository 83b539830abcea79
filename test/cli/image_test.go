//go:build cli

package cli

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenStackCLI_Images(t *testing.T) {
	osc, err := exec.LookPath("openstack")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the openstack CLI is not installed; run scripts/install-deps.sh (python3-openstackclient)")
		}
		t.Skip("the openstack CLI is not installed; scripts/install-deps.sh installs it")
	}
	cloud := startNubo(t, nuboBinary(t))
	home := t.TempDir()
	admin := &client{bin: osc, env: append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8"}, cloud.openrc...)}

	dir := t.TempDir()
	data := make([]byte, 3<<20+17) // not a multiple of any chunk size
	rand.Read(data)                //nolint:errcheck // never fails
	src := filepath.Join(dir, "disk.qcow2")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	name := "cli-image-" + randomHex(t, 4)

	var img object
	admin.json(t, &img, "image", "create", "--file", src, "--disk-format", "qcow2", "--container-format", "bare", name)
	id := img.str("id")
	if id == "" {
		t.Fatalf("image create = %v; want an id", img)
	}
	// The client prints the record it created before uploading; show it now.
	admin.json(t, &img, "image", "show", id)
	if img.str("status") != "active" || img.str("checksum") != hex.EncodeToString(sum[:]) {
		t.Fatalf("image show after create = %v; want active with checksum %x", img, sum)
	}

	t.Run("list and show agree on the new image", func(t *testing.T) {
		var rows []object
		admin.json(t, &rows, "image", "list")
		if findRow(rows, "ID", id) == nil {
			t.Fatalf("image list lacks %s: %v", id, rows)
		}
		var show object
		admin.json(t, &show, "image", "show", id)
		if show.str("name") != name || show.str("disk_format") != "qcow2" || show.str("container_format") != "bare" {
			t.Fatalf("image show = %v", show)
		}
	})

	t.Run("set and unset a property", func(t *testing.T) {
		admin.ok(t, "image", "set", "--property", "os_distro=debian", id)
		if out := admin.ok(t, "image", "show", id, "-c", "properties", "-f", "value"); !strings.Contains(out, "os_distro") || !strings.Contains(out, "debian") {
			t.Fatalf("properties after set: %s", out)
		}
		admin.ok(t, "image", "unset", "--property", "os_distro", id)
		if out := admin.ok(t, "image", "show", id, "-c", "properties", "-f", "value"); strings.Contains(out, "os_distro") {
			t.Fatalf("properties after unset: %s", out)
		}
	})

	t.Run("add project makes the project a member", func(t *testing.T) {
		admin.ok(t, "image", "set", "--shared", id)
		var p object
		admin.json(t, &p, "project", "create", "cli-img-member-"+randomHex(t, 4))
		admin.ok(t, "image", "add", "project", id, p.str("id"))
		var members []object
		admin.json(t, &members, "image", "member", "list", id)
		if findRow(members, "Member ID", p.str("id")) == nil {
			t.Fatalf("image member list = %v, want %s", members, p.str("id"))
		}
	})

	t.Run("save writes the same bytes", func(t *testing.T) {
		out := filepath.Join(dir, "saved")
		admin.ok(t, "image", "save", "--file", out, id)
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("saved image differs: %d bytes, want %d", len(got), len(data))
		}
	})

	t.Run("delete removes it", func(t *testing.T) {
		admin.ok(t, "image", "delete", id)
		if out, err := admin.run(t, "image", "show", id, "-f", "json"); err == nil {
			t.Fatalf("image show after delete succeeded: %s", out)
		}
	})
}
