package image

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// failAfter accepts n bytes, then fails every write.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestCopyHashed_DigestsAndBytesMatchWhateverTheReads(t *testing.T) {
	data := make([]byte, 5*chunkSize+12345)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for name, src := range map[string]io.Reader{
		"whole":    bytes.NewReader(data),
		"one byte": iotest.OneByteReader(bytes.NewReader(data[:70000])),
		"half":     iotest.HalfReader(bytes.NewReader(data)),
		"empty":    bytes.NewReader(nil),
	} {
		var want []byte
		switch name {
		case "one byte":
			want = data[:70000]
		case "empty":
			want = nil
		default:
			want = data
		}
		var dst bytes.Buffer
		var charged int64
		d, err := copyHashed(context.Background(), &dst, src, func(n int64) error { charged += n; return nil })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m, s := md5.Sum(want), sha512.Sum512(want)
		if !bytes.Equal(dst.Bytes(), want) || d.Size != int64(len(want)) || charged != d.Size ||
			d.Checksum != hex.EncodeToString(m[:]) || d.Hash != hex.EncodeToString(s[:]) {
			t.Fatalf("%s: size %d charged %d, digest %+v", name, d.Size, charged, d)
		}
	}
}

func TestCopyHashed_StopsOnWriteReadAndQuotaErrors(t *testing.T) {
	data := make([]byte, 10*chunkSize)
	ok := func(int64) error { return nil }
	if _, err := copyHashed(context.Background(), &failAfter{n: 2 * chunkSize}, bytes.NewReader(data), ok); err == nil {
		t.Fatal("write error not reported")
	}
	cut := io.MultiReader(bytes.NewReader(data[:3*chunkSize]), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := copyHashed(context.Background(), io.Discard, cut, ok); err == nil {
		t.Fatal("read error not reported")
	}
	quota := errors.New("over quota")
	var charged int64
	_, err := copyHashed(context.Background(), io.Discard, bytes.NewReader(data), func(n int64) error {
		if charged+n > 4*chunkSize {
			return quota
		}
		charged += n
		return nil
	})
	if !errors.Is(err, quota) {
		t.Fatalf("quota error = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := copyHashed(ctx, io.Discard, bytes.NewReader(data), ok); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
