package arch

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/nubo-cloud/nubo"

type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string
	GoFiles    []string
	Name       string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(p string) string { return strings.TrimPrefix(strings.TrimPrefix(p, module), "/") }

// TestImportRules checks the layering of docs/architecture.md.
func TestImportRules(t *testing.T) {
	// fault is shared by domain and API layers and may name HTTP statuses.
	domains := []string{"internal/identity", "internal/policy", "internal/compute", "internal/scheduler", "internal/network", "internal/ipam", "internal/volume"}
	for _, p := range listPackages(t) {
		name := rel(p.ImportPath)
		for _, imp := range p.Imports {
			in := rel(imp)
			switch {
			case strings.HasPrefix(name, "internal/api/") &&
				(strings.HasPrefix(in, "internal/store/") || strings.HasPrefix(in, "internal/driver/")):
				t.Errorf("%s imports %s: API packages must not import store implementations or drivers", name, in)
			case strings.HasPrefix(name, "internal/driver/") && isDomain(in, domains):
				t.Errorf("%s imports %s: drivers must not import domain packages", name, in)
			case (strings.HasPrefix(name, "internal/agent") || name == "internal/hostapi" || name == "internal/metadata") && isDomain(in, domains):
				t.Errorf("%s imports %s: the host side knows the control plane only through hostapi", name, in)
			case name == "internal/hostctl" && (imp == "net/http" || strings.HasPrefix(in, "internal/driver/") || strings.HasPrefix(in, "internal/store/")):
				t.Errorf("%s imports %s: hostctl is control-plane logic over the domain services", name, in)
			case isDomain(name, domains) && imp == "net/http":
				t.Errorf("%s imports net/http: domain packages hold no wire format", name)
			case isDomain(name, domains) && strings.HasPrefix(in, "internal/store/"):
				t.Errorf("%s imports %s: domain packages use the store interfaces only", name, in)
			case name == "internal/store" && strings.HasPrefix(in, "internal/store/"):
				t.Errorf("internal/store imports %s: the interface package knows no implementation", in)
			}
		}
	}
}

func isDomain(name string, domains []string) bool {
	for _, d := range domains {
		if name == d {
			return true
		}
	}
	return false
}

// TestEveryPackageHasDoc checks that each package says what it is in a doc.go.
func TestEveryPackageHasDoc(t *testing.T) {
	for _, p := range listPackages(t) {
		if len(p.GoFiles) == 0 || p.Name == "main" {
			continue
		}
		doc := filepath.Join(p.Dir, "doc.go")
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Errorf("%s has no doc.go", rel(p.ImportPath))
			continue
		}
		if !strings.Contains(string(b), "// Package "+p.Name) {
			t.Errorf("%s: doc.go does not start with a \"// Package %s\" comment", rel(p.ImportPath), p.Name)
		}
	}
}
