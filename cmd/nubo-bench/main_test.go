package main

import (
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"--nubo", "/tmp/nubo"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.bcryptCost != 12 || o.duration != 10*time.Second || o.warmup != 2*time.Second ||
		!slices.Equal(o.concurrency, []int{1, 8}) || o.password == "" {
		t.Errorf("defaults: %+v", o)
	}
	o, err = parseFlags([]string{"--url", "http://127.0.0.1:5000/identity/v3", "--pid", "42", "--password", "p",
		"--concurrency", "1, 4,16", "--duration", "3s", "--warmup", "0s", "--bcrypt-cost", "10", "--scenarios", "validate,project-list"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.pid != 42 || o.password != "p" || o.bcryptCost != 10 || o.duration != 3*time.Second || o.warmup != 0 ||
		!slices.Equal(o.concurrency, []int{1, 4, 16}) || !slices.Equal(o.scenarios, []string{"validate", "project-list"}) {
		t.Errorf("parsed: %+v", o)
	}
	for _, bad := range [][]string{
		{},
		{"--nubo", "x", "--url", "http://y"},
		{"--nubo", "x", "--pid", "3"},
		{"--nubo", "x", "--concurrency", "0"},
		{"--nubo", "x", "--concurrency", "a,2"},
		{"--nubo", "x", "--concurrency", ""},
		{"--nubo", "x", "--duration", "0s"},
		{"--nubo", "x", "--bcrypt-cost", "3"},
		{"--nubo", "x", "extra"},
		{"--bogus"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", bad)
		}
	}
}
