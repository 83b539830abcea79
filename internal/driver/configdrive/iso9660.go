package configdrive

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

const sector = 2048

// isoFile is one file to put in an image.
type isoFile struct {
	path string // slash-separated, relative
	data []byte
}

type isoDir struct {
	name     string
	parent   *isoDir
	dirs     []*isoDir
	files    []*isoEntry
	num      int // path table number (1 = root)
	lba      int
	size     int
	children map[string]*isoDir
}

type isoEntry struct {
	name string
	data []byte
	lba  int
}

func validName(s string) bool {
	if s == "" || len(s) > 64 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// writeISO writes an ISO 9660 image with volume label label holding files.
func writeISO(w io.Writer, label string, files []isoFile, mtime time.Time) error {
	if label == "" || len(label) > 32 {
		return fmt.Errorf("configdrive: volume label %q", label)
	}
	mtime = mtime.UTC()
	root := &isoDir{children: map[string]*isoDir{}}
	seen := map[string]bool{}
	for _, f := range files {
		parts := strings.Split(f.path, "/")
		if len(parts) > 8 {
			return fmt.Errorf("configdrive: %s: too deep", f.path)
		}
		d := root
		for i, p := range parts {
			if !validName(p) {
				return fmt.Errorf("configdrive: bad path %q", f.path)
			}
			if i == len(parts)-1 {
				break
			}
			c, ok := d.children[p]
			if !ok {
				c = &isoDir{name: p, parent: d, children: map[string]*isoDir{}}
				d.children[p] = c
				d.dirs = append(d.dirs, c)
			}
			d = c
		}
		name := parts[len(parts)-1]
		if seen[f.path] || d.children[name] != nil {
			return fmt.Errorf("configdrive: duplicate path %q", f.path)
		}
		seen[f.path] = true
		d.files = append(d.files, &isoEntry{name: name, data: f.data})
	}

	// Breadth-first order, children sorted by name: the path table order.
	var order []*isoDir
	queue := []*isoDir{root}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		order = append(order, d)
		d.num = len(order)
		sort.Slice(d.dirs, func(i, j int) bool { return d.dirs[i].name < d.dirs[j].name })
		sort.Slice(d.files, func(i, j int) bool { return d.files[i].name < d.files[j].name })
		queue = append(queue, d.dirs...)
	}

	// Path tables.
	pathTable := func(bo binary.ByteOrder) []byte {
		var b bytes.Buffer
		for _, d := range order {
			id := []byte(d.name)
			if d == root {
				id = []byte{0}
			}
			parent := 1
			if d.parent != nil {
				parent = d.parent.num
			}
			b.WriteByte(byte(len(id)))
			b.WriteByte(0)
			var n [6]byte
			bo.PutUint32(n[:4], uint32(d.lba))
			bo.PutUint16(n[4:], uint16(parent))
			b.Write(n[:])
			b.Write(id)
			if len(id)%2 == 1 {
				b.WriteByte(0)
			}
		}
		return b.Bytes()
	}
	ptSize := len(pathTable(binary.LittleEndian)) // LBAs do not change the size
	ptSectors := (ptSize + sector - 1) / sector
	lPT, mPT := 18, 18+ptSectors

	// Directory extents.
	next := mPT + ptSectors
	for _, d := range order {
		d.size = dirExtentSize(d)
		d.lba = next
		next += d.size / sector
	}
	for _, d := range order {
		for _, f := range d.files {
			f.lba = next
			next += (len(f.data) + sector - 1) / sector
		}
	}
	total := next

	img := make([]byte, 0, total*sector)
	buf := bytes.NewBuffer(img)
	buf.Write(make([]byte, 16*sector))
	buf.Write(pvd(label, total, ptSize, lPT, mPT, dirRecord(root.lba, root.size, true, []byte{0}, mtime), mtime))
	term := make([]byte, sector)
	term[0] = 255
	copy(term[1:], "CD001")
	term[6] = 1
	buf.Write(term)
	writePadded(buf, pathTable(binary.LittleEndian))
	writePadded(buf, pathTable(binary.BigEndian))
	for _, d := range order {
		var recs [][]byte
		parent := d
		if d.parent != nil {
			parent = d.parent
		}
		recs = append(recs, dirRecord(d.lba, d.size, true, []byte{0}, mtime))
		recs = append(recs, dirRecord(parent.lba, parent.size, true, []byte{1}, mtime))
		// Directories and files interleaved in name order, as ECMA-119 wants.
		type rec struct {
			key string
			b   []byte
		}
		var rs []rec
		for _, c := range d.dirs {
			rs = append(rs, rec{c.name, dirRecord(c.lba, c.size, true, []byte(c.name), mtime)})
		}
		for _, f := range d.files {
			rs = append(rs, rec{f.name, dirRecord(f.lba, len(f.data), false, []byte(f.name+";1"), mtime)})
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].key < rs[j].key })
		for _, r := range rs {
			recs = append(recs, r.b)
		}
		ext := make([]byte, 0, d.size)
		for _, r := range recs {
			if used := len(ext) % sector; used+len(r) > sector {
				ext = append(ext, make([]byte, sector-used)...)
			}
			ext = append(ext, r...)
		}
		ext = append(ext, make([]byte, d.size-len(ext))...)
		buf.Write(ext)
	}
	for _, d := range order {
		for _, f := range d.files {
			writePadded(buf, f.data)
		}
	}
	if buf.Len() != total*sector {
		return fmt.Errorf("configdrive: internal error: wrote %d bytes, planned %d", buf.Len(), total*sector)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func writePadded(buf *bytes.Buffer, b []byte) {
	buf.Write(b)
	if r := len(b) % sector; r != 0 {
		buf.Write(make([]byte, sector-r))
	}
}

func recordLen(idLen int) int { return 33 + idLen + (1 - idLen%2) }

// dirExtentSize is the size of d's extent, whole sectors, with records
// never crossing a sector boundary.
func dirExtentSize(d *isoDir) int {
	lens := []int{34, 34}
	for _, c := range d.dirs {
		lens = append(lens, recordLen(len(c.name)))
	}
	for _, f := range d.files {
		lens = append(lens, recordLen(len(f.name)+2))
	}
	size := 0
	for _, l := range lens {
		if used := size % sector; used+l > sector {
			size += sector - used
		}
		size += l
	}
	return (size + sector - 1) / sector * sector
}

func both32(b []byte, v uint32) {
	binary.LittleEndian.PutUint32(b, v)
	binary.BigEndian.PutUint32(b[4:], v)
}

func both16(b []byte, v uint16) {
	binary.LittleEndian.PutUint16(b, v)
	binary.BigEndian.PutUint16(b[2:], v)
}

func dirRecord(lba, size int, dir bool, id []byte, t time.Time) []byte {
	r := make([]byte, recordLen(len(id)))
	r[0] = byte(len(r))
	both32(r[2:], uint32(lba))
	both32(r[10:], uint32(size))
	r[18], r[19], r[20] = byte(t.Year()-1900), byte(t.Month()), byte(t.Day())
	r[21], r[22], r[23], r[24] = byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0
	if dir {
		r[25] = 2
	}
	both16(r[28:], 1)
	r[32] = byte(len(id))
	copy(r[33:], id)
	return r
}

func pvd(label string, total, ptSize, lPT, mPT int, rootRec []byte, t time.Time) []byte {
	b := make([]byte, sector)
	b[0] = 1
	copy(b[1:], "CD001")
	b[6] = 1
	pad := func(off, n int, s string) { copy(b[off:off+n], s+strings.Repeat(" ", n-len(s))) }
	pad(8, 32, "LINUX")
	pad(40, 32, label)
	both32(b[80:], uint32(total))
	both16(b[120:], 1)
	both16(b[124:], 1)
	both16(b[128:], sector)
	both32(b[132:], uint32(ptSize))
	binary.LittleEndian.PutUint32(b[140:], uint32(lPT))
	binary.BigEndian.PutUint32(b[148:], uint32(mPT))
	copy(b[156:190], rootRec)
	pad(190, 128, "")
	pad(318, 128, "NUBO")
	pad(446, 128, "NUBO")
	pad(574, 128, "NUBO CONFIGDRIVE")
	pad(702, 37, "")
	pad(739, 37, "")
	pad(776, 37, "")
	date := t.Format("20060102150405") + "00"
	copy(b[813:], date)
	copy(b[830:], date)
	copy(b[847:], "0000000000000000")
	copy(b[864:], "0000000000000000")
	b[881] = 1
	return b
}
