package nftables

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"

	"github.com/nubo-cloud/nubo/internal/driver/firewall"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns"
)

// Firewall runs the nft binary.
type Firewall struct {
	nft string
	log *slog.Logger
}

var _ firewall.Firewall = (*Firewall)(nil)

// New returns a Firewall that runs nftPath ("" means "nft" from PATH).
func New(nftPath string, log *slog.Logger) *Firewall {
	if nftPath == "" {
		nftPath = "nft"
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Firewall{nft: nftPath, log: log.With("component", "firewall")}
}

// run starts nft inside namespace ns. The fork happens on a thread
// switched into ns, so the child (and its netlink socket) lives there.
func (f *Firewall) run(ctx context.Context, ns, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, f.nft, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := netns.Do(ns, cmd.Start); err != nil {
		return "", fmt.Errorf("start nft in %q: %w", ns, err)
	}
	if err := cmd.Wait(); err != nil {
		return "", fmt.Errorf("nft %s in %q: %w: %s", strings.Join(args, " "), ns, err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Apply implements firewall.Firewall.
func (f *Firewall) Apply(ctx context.Context, ns string, rs firewall.Ruleset) error {
	script, err := Render(rs)
	if err != nil {
		return fmt.Errorf("render ruleset for %q: %w", ns, err)
	}
	if _, err := f.run(ctx, ns, script, "-f", "-"); err != nil {
		return fmt.Errorf("apply ruleset: %w", err)
	}
	f.log.Debug("applied ruleset", "netns", ns, "ports", len(rs.Ports), "nat", rs.NAT != nil)
	return nil
}

// Tables implements firewall.Firewall.
func (f *Firewall) Tables(ctx context.Context, ns string) ([]firewall.Table, error) {
	out, err := f.run(ctx, ns, "", "list", "tables")
	if err != nil {
		return nil, err
	}
	return parseTables(out), nil
}

// parseTables reads `nft list tables` output ("table inet nubo" per line)
// and keeps the tables Nubo owns.
func parseTables(out string) []firewall.Table {
	var ts []firewall.Table
	for _, line := range strings.Split(out, "\n") {
		fs := strings.Fields(line)
		if len(fs) == 3 && fs[0] == "table" {
			t := firewall.Table{Family: fs[1], Name: fs[2]}
			if Owned(t) {
				ts = append(ts, t)
			}
		}
	}
	return ts
}

// DeleteTable implements firewall.Firewall.
func (f *Firewall) DeleteTable(ctx context.Context, ns string, t firewall.Table) error {
	if !Owned(t) {
		return fmt.Errorf("delete table %s %s: not owned by Nubo", t.Family, t.Name)
	}
	script := fmt.Sprintf("table %s %s {}\ndelete table %s %s\n", t.Family, t.Name, t.Family, t.Name)
	_, err := f.run(ctx, ns, script, "-f", "-")
	return err
}
