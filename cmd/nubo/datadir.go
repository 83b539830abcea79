package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// defaultDataDir is /var/lib/nubo as root, ~/.local/share/nubo otherwise.
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/nubo"
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "nubo")
	}
	return "nubo-data"
}

const (
	passwordFile = "admin-password"
	stateFile    = "endpoint.json"
)

// endpointState is what `nubo up` leaves in the data dir for `nubo admin`.
type endpointState struct {
	PublicURL string `json:"public_url"`
	Region    string `json:"region"`
}

func writeState(dir string, st endpointState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, stateFile), append(b, '\n'), 0o600)
}

func readState(dir string) (endpointState, error) {
	var st endpointState
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return st, fmt.Errorf("read %s (has `nubo up` run with this data dir?): %w", filepath.Join(dir, stateFile), err)
	}
	return st, json.Unmarshal(b, &st)
}

// adminPassword returns the password to bootstrap with: the given one (saved
// for `nubo admin openrc`), the saved one, or a new random one, saved 0600.
// generated is true when it was just made up.
func adminPassword(dir, given string) (pw string, generated bool, err error) {
	path := filepath.Join(dir, passwordFile)
	if given != "" {
		return given, false, writeFileAtomic(path, []byte(given+"\n"), 0o600)
	}
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	raw := make([]byte, 18)
	rand.Read(raw) //nolint:errcheck // never fails
	pw = base64.RawURLEncoding.EncodeToString(raw)
	return pw, true, writeFileAtomic(path, []byte(pw+"\n"), 0o600)
}

func readPassword(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, passwordFile))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
