package linux

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sort"
	"strings"

	"github.com/nubo-cloud/nubo/internal/driver/netdev"
	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Alias marks the devices this driver owns.
const Alias = "nubo"

// Config selects where the driver works.
type Config struct {
	// HostNamespace is the namespace holding bridges, VXLAN devices and
	// taps: "" for the agent's own (the host's), a name under /run/netns or
	// an absolute path otherwise (tests use a private one).
	HostNamespace string
	// NamespacePrefixes mark owned namespaces; Sync deletes owned ones the
	// spec does not list and refuses to create others. Default: "qrouter-"
	// and "qdhcp-".
	NamespacePrefixes []string
}

// Driver is the netlink implementation of netdev.Driver.
type Driver struct {
	cfg Config
	log *slog.Logger
}

var _ netdev.Driver = (*Driver)(nil)

// New returns a driver; it touches nothing until called.
func New(cfg Config, log *slog.Logger) *Driver {
	if len(cfg.NamespacePrefixes) == 0 {
		cfg.NamespacePrefixes = []string{netdev.RouterNamespacePrefix, netdev.DHCPNamespacePrefix}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Driver{cfg: cfg, log: log.With("component", "netdev")}
}

func (d *Driver) owned(ns string) bool {
	for _, p := range d.cfg.NamespacePrefixes {
		if strings.HasPrefix(ns, p) {
			return true
		}
	}
	return false
}

// hostHandle opens a netlink handle in the host namespace.
func (d *Driver) hostHandle() (*netlink.Handle, error) {
	if d.cfg.HostNamespace == "" {
		return netlink.NewHandle()
	}
	nsh, err := netns.Open(d.cfg.HostNamespace)
	if err != nil {
		return nil, err
	}
	defer nsh.Close()
	return netlink.NewHandleAt(nsh)
}

// Sync implements netdev.Driver.
func (d *Driver) Sync(ctx context.Context, spec netdev.HostSpec) error {
	if err := spec.Validate(); err != nil {
		return fmt.Errorf("sync host network: %w", err)
	}
	for _, ns := range spec.Namespaces {
		if !d.owned(ns.Name) {
			return fmt.Errorf("sync host network: namespace %s lacks an owned prefix %v", ns.Name, d.cfg.NamespacePrefixes)
		}
	}
	h, err := d.hostHandle()
	if err != nil {
		return fmt.Errorf("sync host network: %w", err)
	}
	defer h.Close()

	var errs []error
	want := map[string]bool{}
	for _, n := range spec.Networks {
		if err := ctx.Err(); err != nil {
			return err
		}
		names, err := d.ensureNetwork(h, n)
		for _, nm := range names {
			want[nm] = true
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	wantNS := map[string]bool{}
	for _, ns := range spec.Namespaces {
		if err := ctx.Err(); err != nil {
			return err
		}
		wantNS[ns.Name] = true
		for _, i := range ns.Interfaces {
			want[netdev.VethName(i.PortID)] = true
		}
		if err := d.ensureNamespace(h, ns); err != nil {
			errs = append(errs, err)
		}
	}

	// Strays: namespaces first (their veth legs vanish with them), then
	// owned devices in the host namespace.
	names, err := d.listNamespaces()
	if err != nil {
		errs = append(errs, err)
	}
	for _, n := range names {
		if !wantNS[n] {
			d.log.Info("deleting stray namespace", "netns", n)
			if err := netns.Delete(n); err != nil {
				errs = append(errs, err)
			}
		}
	}
	links, err := ownedLinks(h)
	if err != nil {
		errs = append(errs, err)
	}
	// Delete the ports before their bridges so nothing is re-parented.
	sort.SliceStable(links, func(i, j int) bool { return links[i].Type() != "bridge" && links[j].Type() == "bridge" })
	for _, l := range links {
		if !want[l.Attrs().Name] {
			d.log.Info("deleting stray device", "device", l.Attrs().Name, "kind", l.Type())
			if err := h.LinkDel(l); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("delete %s: %w", l.Attrs().Name, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sync host network: %w", err)
	}
	return nil
}

// EnsureNetwork implements netdev.Driver.
func (d *Driver) EnsureNetwork(ctx context.Context, n netdev.Network) error {
	if err := n.Validate(); err != nil {
		return err
	}
	h, err := d.hostHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	_, err = d.ensureNetwork(h, n)
	return err
}

// EnsureNamespace implements netdev.Driver.
func (d *Driver) EnsureNamespace(ctx context.Context, ns netdev.Namespace) error {
	if err := ns.Validate(); err != nil {
		return err
	}
	if !d.owned(ns.Name) {
		return fmt.Errorf("ensure namespace %s: lacks an owned prefix %v", ns.Name, d.cfg.NamespacePrefixes)
	}
	h, err := d.hostHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	return d.ensureNamespace(h, ns)
}

// DeleteLink implements netdev.Driver.
func (d *Driver) DeleteLink(ctx context.Context, name string) error {
	h, err := d.hostHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete device %s: %w", name, err)
	}
	if err := h.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete device %s: %w", name, err)
	}
	return nil
}

// DeleteNamespace implements netdev.Driver.
func (d *Driver) DeleteNamespace(ctx context.Context, name string) error {
	return netns.Delete(name)
}

func (d *Driver) listNamespaces() ([]string, error) {
	var out []string
	for _, p := range d.cfg.NamespacePrefixes {
		names, err := netns.List(p)
		if err != nil {
			return nil, err
		}
		out = append(out, names...)
	}
	sort.Strings(out)
	return out, nil
}

// Status implements netdev.Driver.
func (d *Driver) Status(ctx context.Context) (netdev.HostStatus, error) {
	var st netdev.HostStatus
	h, err := d.hostHandle()
	if err != nil {
		return st, err
	}
	defer h.Close()
	links, err := ownedLinks(h)
	if err != nil {
		return st, err
	}
	byIndex := map[int]string{}
	all, _ := dump(h.LinkList)
	for _, l := range all {
		byIndex[l.Attrs().Index] = l.Attrs().Name
	}
	for _, l := range links {
		a := l.Attrs()
		st.Links = append(st.Links, netdev.Link{
			Name: a.Name, Kind: l.Type(), MAC: a.HardwareAddr, MTU: a.MTU,
			Master: byIndex[a.MasterIndex], Up: a.Flags&unix.IFF_UP != 0,
		})
		if l.Type() == "vxlan" {
			remotes, err := fdbRemotes(h, a.Index)
			if err != nil {
				return st, err
			}
			if st.FDB == nil {
				st.FDB = map[string][]netip.Addr{}
			}
			st.FDB[a.Name] = remotes
		}
	}
	sort.Slice(st.Links, func(i, j int) bool { return st.Links[i].Name < st.Links[j].Name })
	st.Namespaces, err = d.listNamespaces()
	return st, err
}

// CheckBridgeNetfilter implements netdev.Driver.
func (d *Driver) CheckBridgeNetfilter(ctx context.Context) error {
	return netns.Do(d.cfg.HostNamespace, func() error {
		for _, k := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables"} {
			b, err := os.ReadFile("/proc/sys/net/bridge/" + k)
			if err != nil {
				return fmt.Errorf("net.bridge.%s: %w: %w", k, netdev.ErrBridgeNetfilter, err)
			}
			if strings.TrimSpace(string(b)) != "1" {
				return fmt.Errorf("net.bridge.%s=%s: %w", k, strings.TrimSpace(string(b)), netdev.ErrBridgeNetfilter)
			}
		}
		return nil
	})
}

func ownedLinks(h *netlink.Handle) ([]netlink.Link, error) {
	all, err := dump(h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	var out []netlink.Link
	for _, l := range all {
		if l.Attrs().Alias == Alias {
			out = append(out, l)
		}
	}
	return out, nil
}

func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT)
}

// writeSysctl writes /proc/sys/<key> inside the namespace ns ("" = host);
// key is slash-separated because device names may contain dots.
func writeSysctl(ns, key, value string) error {
	return netns.Do(ns, func() error {
		p := "/proc/sys/" + key
		if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == value {
			return nil
		}
		if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
			return fmt.Errorf("sysctl %s=%s in %q: %w", key, value, ns, err)
		}
		return nil
	})
}
