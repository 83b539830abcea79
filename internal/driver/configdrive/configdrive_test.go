package configdrive

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readISO is an independent minimal ISO 9660 reader: it returns the volume
// label and every file by path (";1" stripped), walking directory records
// from the primary volume descriptor, and checks the path table agrees.
func readISO(t *testing.T, img []byte) (string, map[string][]byte) {
	t.Helper()
	if len(img)%2048 != 0 || len(img) < 18*2048 {
		t.Fatalf("image size %d", len(img))
	}
	pvd := img[16*2048:]
	if pvd[0] != 1 || string(pvd[1:6]) != "CD001" {
		t.Fatal("no primary volume descriptor")
	}
	if got := binary.LittleEndian.Uint32(pvd[80:]); int(got)*2048 != len(img) {
		t.Fatalf("volume space size %d sectors, image %d bytes", got, len(img))
	}
	if got := binary.BigEndian.Uint32(pvd[84:]); int(got)*2048 != len(img) {
		t.Fatal("big-endian volume size differs")
	}
	if t2 := img[17*2048]; t2 != 255 {
		t.Fatalf("no terminator, type %d", t2)
	}
	label := strings.TrimRight(string(pvd[40:72]), " ")
	files := map[string][]byte{}
	dirs := 0
	var walk func(lba, size int, prefix string)
	walk = func(lba, size int, prefix string) {
		dirs++
		ext := img[lba*2048 : lba*2048+size]
		for off := 0; off < len(ext); {
			n := int(ext[off])
			if n == 0 { // rest of the sector is padding
				off = (off/2048 + 1) * 2048
				continue
			}
			r := ext[off : off+n]
			id := string(r[33 : 33+int(r[32])])
			rl := int(binary.LittleEndian.Uint32(r[2:]))
			rs := int(binary.LittleEndian.Uint32(r[10:]))
			if binary.BigEndian.Uint32(r[6:]) != uint32(rl) || off/2048 != (off+n-1)/2048 {
				t.Fatalf("bad record %q", id)
			}
			switch {
			case id == "\x00" || id == "\x01":
			case r[25]&2 != 0:
				walk(rl, rs, prefix+id+"/")
			default:
				files[prefix+strings.TrimSuffix(id, ";1")] = img[rl*2048 : rl*2048+rs]
			}
			off += n
		}
	}
	root := pvd[156:]
	walk(int(binary.LittleEndian.Uint32(root[2:])), int(binary.LittleEndian.Uint32(root[10:])), "")
	ptSize := int(binary.LittleEndian.Uint32(pvd[132:]))
	pt := img[int(binary.LittleEndian.Uint32(pvd[140:]))*2048:][:ptSize]
	entries := 0
	for off := 0; off < len(pt); entries++ {
		l := int(pt[off])
		off += 8 + l + l%2
	}
	if entries != dirs {
		t.Errorf("path table has %d entries, tree has %d directories", entries, dirs)
	}
	return label, files
}

func testContent() Content {
	return Content{
		MetaData: MetaData{
			UUID: "6f1c3a52-9a7e-4c55-8d1e-2b3c4d5e6f70", Name: "web-1", Hostname: "web-1",
			AvailabilityZone: "nova", PublicKeys: map[string]string{"k": "ssh-ed25519 AAAA test"},
			Keys: []Key{{Name: "k", Type: "ssh", Data: "ssh-ed25519 AAAA test"}},
		},
		UserData: []byte("#!/bin/sh\necho hello\n"),
		ModTime:  time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
	}
}

func TestBuildAndReadBack(t *testing.T) {
	var b bytes.Buffer
	if err := Build(&b, testContent()); err != nil {
		t.Fatal(err)
	}
	label, files := readISO(t, b.Bytes())
	if label != "config-2" {
		t.Errorf("label %q", label)
	}
	if want := len(Versions) * 5; len(files) != want {
		t.Errorf("%d files, want %d", len(files), want)
	}
	var md MetaData
	if err := json.Unmarshal(files["openstack/latest/meta_data.json"], &md); err != nil {
		t.Fatal(err)
	}
	if md.UUID != testContent().MetaData.UUID || md.PublicKeys["k"] == "" || md.Devices == nil {
		t.Errorf("meta_data %+v", md)
	}
	if got := string(files["openstack/2012-08-10/user_data"]); got != "#!/bin/sh\necho hello\n" {
		t.Errorf("user_data %q", got)
	}
	if got := string(files["openstack/latest/network_data.json"]); got != `{"links":[],"networks":[],"services":[]}` {
		t.Errorf("network_data %q", got)
	}
	// Reproducible: same content and time, same bytes.
	var b2 bytes.Buffer
	Build(&b2, testContent())
	if !bytes.Equal(b.Bytes(), b2.Bytes()) {
		t.Error("two builds differ")
	}
}

func TestManyAndLargeFiles(t *testing.T) {
	// Enough entries to spill a directory over several sectors, and a file
	// larger than a sector.
	var fs []isoFile
	for i := range 120 {
		fs = append(fs, isoFile{fmt.Sprintf("d/some-long-file-name-%03d.json", i), []byte(strings.Repeat("x", i*50))})
	}
	var b bytes.Buffer
	if err := writeISO(&b, "test", fs, time.Now()); err != nil {
		t.Fatal(err)
	}
	_, files := readISO(t, b.Bytes())
	if len(files) != 120 || len(files["d/some-long-file-name-119.json"]) != 119*50 {
		t.Errorf("got %d files", len(files))
	}
}

func TestRejects(t *testing.T) {
	for _, fs := range [][]isoFile{
		{{"A/upper", nil}},
		{{"a/../b", nil}},
		{{"a", nil}, {"a", nil}},
		{{"a/b", nil}, {"a", nil}},
	} {
		if err := writeISO(&bytes.Buffer{}, "x", fs, time.Now()); err == nil {
			t.Errorf("%v accepted", fs)
		}
	}
	if err := Build(&bytes.Buffer{}, Content{}); err == nil {
		t.Error("empty uuid accepted")
	}
}

// TestIsoinfo cross-checks with genisoimage's isoinfo when it is installed.
func TestIsoinfo(t *testing.T) {
	isoinfo, err := exec.LookPath("isoinfo")
	if err != nil {
		t.Skip("isoinfo not installed (genisoimage)")
	}
	path := filepath.Join(t.TempDir(), "cd.iso")
	if err := WriteFile(path, testContent()); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(isoinfo, "-i", path, "-x", "/OPENSTACK/LATEST/META_DATA.JSON;1").Output()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(path)
	_, files := readISO(t, want)
	if !bytes.Equal(out, files["openstack/latest/meta_data.json"]) {
		t.Errorf("isoinfo read %q", out)
	}
}
