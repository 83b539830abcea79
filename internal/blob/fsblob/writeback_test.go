package fsblob

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// A blob larger than a few writeback windows, written in odd-sized pieces
// and through ReadFrom, reads back intact.
func TestWriter_LargeBlobWithWriteback(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := make([]byte, 3*writebackWindow+4321)
	for i := range data {
		data[i] = byte(i * 13)
	}
	w, err := s.Create(context.Background(), "images/big")
	if err != nil {
		t.Fatal(err)
	}
	half := len(data) / 2
	for off := 0; off < half; off += 1 << 20 {
		if _, err := w.Write(data[off:min(off+1<<20, half)]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.(io.ReaderFrom).ReadFrom(bytes.NewReader(data[half:])); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	rc, n, err := s.Open(context.Background(), "images/big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	if n != int64(len(data)) || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (size %d), want %d intact", len(got), n, len(data))
	}
}
