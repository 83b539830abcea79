package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/driver/configdrive"
	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// Lookup returns the metadata of the server that owns remoteIP (the
// request's source address, without port). It returns an error wrapping
// hostapi.ErrNotFound when no server has that address.
type Lookup func(ctx context.Context, remoteIP string) (*hostapi.Metadata, error)

// EC2Versions are the EC2 metadata versions listed at "/"; every one of
// them, and "latest", serves the same tree.
var EC2Versions = []string{
	"1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10",
	"2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04",
}

// File names inside an OpenStack version directory.
const (
	MetaDataJSON    = "meta_data.json"
	NetworkDataJSON = "network_data.json"
	VendorDataJSON  = "vendor_data.json"
	VendorData2JSON = "vendor_data2.json"
	UserData        = "user_data"
)

const (
	textPlain = "text/plain; charset=utf-8"
	appJSON   = "application/json"
)

// Handler serves the metadata service. Every request is answered for the
// server that lookup finds by the request's source address: 404 when there
// is none, 500 when lookup fails otherwise.
func Handler(lookup Lookup, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &handler{lookup: lookup, log: log.With("component", "metadata")}
}

type handler struct {
	lookup Lookup
	log    *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		h.log.Warn("metadata request without a source address", "remote", r.RemoteAddr)
		http.Error(w, "400 Bad Request", http.StatusBadRequest)
		return
	}
	remote := ap.Addr().Unmap().WithZone("").String()
	md, err := h.lookup(r.Context(), remote)
	switch {
	case errors.Is(err, hostapi.ErrNotFound) || (err == nil && md == nil):
		h.log.Info("metadata request from an unknown address", "remote", remote, "path", r.URL.Path)
		http.NotFound(w, r)
		return
	case err != nil:
		h.log.Error("metadata lookup failed", "remote", remote, "err", err)
		http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
		return
	}
	body, ctype, ok := resolve(md, remote, r.URL.Path)
	if !ok {
		h.log.Debug("metadata path not found", "remote", remote, "server", md.ServerID, "path", r.URL.Path)
		http.NotFound(w, r)
		return
	}
	h.log.Debug("metadata served", "remote", remote, "server", md.ServerID, "path", r.URL.Path)
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// resolve returns the body and content type at p for md, or false.
func resolve(md *hostapi.Metadata, remote, p string) ([]byte, string, bool) {
	p = path.Clean("/" + p)
	var tokens []string
	if p != "/" {
		tokens = strings.Split(strings.TrimPrefix(p, "/"), "/")
	}
	if len(tokens) > 0 && tokens[0] == "openstack" {
		return openstack(md, tokens[1:])
	}
	if len(tokens) > 0 && tokens[0] == "ec2" { // Nova's explicit prefix
		tokens = tokens[1:]
	}
	if len(tokens) == 0 {
		return listing(append(slices.Clone(EC2Versions), "latest")), textPlain, true
	}
	if tokens[0] != "latest" && !slices.Contains(EC2Versions, tokens[0]) {
		return nil, "", false
	}
	n := ec2Tree(md, remote)
	for _, t := range tokens[1:] {
		if n.kids == nil {
			return nil, "", false
		}
		if n = n.kids[t]; n == nil {
			return nil, "", false
		}
	}
	if n.kids != nil {
		return []byte(n.list()), textPlain, true
	}
	return n.value, n.ctype, true
}

func listing(items []string) []byte { return []byte(strings.Join(items, "\n")) }

// openstack serves /openstack/… (tokens after "openstack").
func openstack(md *hostapi.Metadata, tokens []string) ([]byte, string, bool) {
	if len(tokens) == 0 {
		return listing(configdrive.Versions), textPlain, true
	}
	if !slices.Contains(configdrive.Versions, tokens[0]) {
		return nil, "", false
	}
	if len(tokens) == 1 {
		files := []string{MetaDataJSON}
		if md.UserData != nil {
			files = append(files, UserData)
		}
		files = append(files, VendorDataJSON, NetworkDataJSON, VendorData2JSON)
		return listing(files), textPlain, true
	}
	if len(tokens) != 2 {
		return nil, "", false
	}
	switch tokens[1] {
	case MetaDataJSON:
		return metaDataJSON(md), appJSON, true
	case NetworkDataJSON:
		if len(md.NetworkData) == 0 || string(md.NetworkData) == "null" {
			return []byte(`{"links": [], "networks": [], "services": []}`), appJSON, true
		}
		return md.NetworkData, appJSON, true
	case VendorDataJSON, VendorData2JSON:
		if len(md.VendorData) == 0 || string(md.VendorData) == "null" {
			return []byte(`{}`), appJSON, true
		}
		return md.VendorData, appJSON, true
	case UserData:
		if md.UserData == nil {
			return nil, "", false
		}
		return md.UserData, textPlain, true
	}
	return nil, "", false
}

func metaDataJSON(md *hostapi.Metadata) []byte {
	if len(md.MetaData) == 0 || string(md.MetaData) == "null" {
		b, _ := json.Marshal(map[string]string{"uuid": md.ServerID})
		return b
	}
	return md.MetaData
}

// metaData is what the EC2 tree reads from meta_data.json.
type metaData struct {
	UUID             string            `json:"uuid"`
	Name             string            `json:"name"`
	Hostname         string            `json:"hostname"`
	AvailabilityZone string            `json:"availability_zone"`
	LaunchIndex      int               `json:"launch_index"`
	PublicKeys       map[string]string `json:"public_keys"`
}

// node is a directory (kids set) or a file of the EC2 tree.
type node struct {
	kids  map[string]*node
	entry string // the parent's listing shows this instead of "name/"
	value []byte
	ctype string
}

func dir(kids map[string]*node) *node { return &node{kids: kids} }
func file(v string) *node             { return &node{value: []byte(v), ctype: textPlain} }

// list prints a directory as Nova does: sorted names, "name/" for
// directories unless they carry their own entry ("0=keyname").
func (n *node) list() string {
	names := make([]string, 0, len(n.kids))
	for k := range n.kids {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]string, 0, len(names))
	for _, k := range names {
		c := n.kids[k]
		switch {
		case c.kids != nil && c.entry != "":
			out = append(out, c.entry)
		case c.kids != nil:
			out = append(out, k+"/")
		default:
			out = append(out, k)
		}
	}
	return strings.Join(out, "\n")
}

// ec2Tree derives the EC2 layout of one version from the OpenStack
// documents. Items Nubo has no data for (ami-id, instance-type,
// reservation-id, security-groups, public-ipv4) are left out rather than
// made up.
func ec2Tree(md *hostapi.Metadata, remote string) *node {
	var m metaData
	_ = json.Unmarshal(md.MetaData, &m)
	if m.UUID == "" {
		m.UUID = md.ServerID
	}
	hostname := m.Hostname
	if hostname == "" {
		hostname = m.Name
	}
	meta := map[string]*node{
		"ami-launch-index":  file(strconv.Itoa(m.LaunchIndex)),
		"ami-manifest-path": file("FIXME"),
		"block-device-mapping": dir(map[string]*node{
			"ami":  file("vda"),
			"root": file("/dev/vda"),
		}),
		"hostname":        file(hostname),
		"instance-action": file("none"),
		"instance-id":     file(InstanceID(m.UUID)),
		"local-hostname":  file(hostname),
		"public-hostname": file(hostname),
		"placement": dir(map[string]*node{
			"availability-zone": file(m.AvailabilityZone),
		}),
	}
	if a, err := netip.ParseAddr(remote); err == nil && a.Is4() {
		meta["local-ipv4"] = file(remote)
	}
	if len(m.PublicKeys) > 0 {
		names := make([]string, 0, len(m.PublicKeys))
		for k := range m.PublicKeys {
			names = append(names, k)
		}
		slices.Sort(names)
		keys := map[string]*node{}
		for i, k := range names {
			idx := strconv.Itoa(i)
			keys[idx] = &node{entry: idx + "=" + k, kids: map[string]*node{"openssh-key": file(m.PublicKeys[k])}}
		}
		meta["public-keys"] = dir(keys)
	}
	root := map[string]*node{"meta-data": dir(meta)}
	if md.UserData != nil {
		root["user-data"] = &node{value: md.UserData, ctype: textPlain}
	}
	return dir(root)
}

// InstanceID is the EC2 instance-id of a server: "i-" and the first eight
// hex digits of its UUID (Nova formats an integer as i-%08x; Nubo has no
// integer IDs, and eight hex digits keep the shape).
func InstanceID(uuid string) string {
	h := strings.ToLower(strings.ReplaceAll(uuid, "-", ""))
	if len(h) < 8 {
		h = strings.Repeat("0", 8-len(h)) + h
	}
	return "i-" + h[:8]
}
