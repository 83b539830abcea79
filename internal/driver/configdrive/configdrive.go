package configdrive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Label is the volume label cloud-init looks for.
const Label = "config-2"

// Versions are the openstack/<version>/ directories Nova writes; each holds
// the same files (the older formats are subsets of the newest one).
var Versions = []string{
	"2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15", "2016-06-30",
	"2016-10-06", "2017-02-22", "2018-08-27", "2020-10-14", "latest",
}

// MetaData is openstack/<version>/meta_data.json.
type MetaData struct {
	UUID             string            `json:"uuid"`
	Name             string            `json:"name"`
	Hostname         string            `json:"hostname"`
	AvailabilityZone string            `json:"availability_zone,omitempty"`
	ProjectID        string            `json:"project_id,omitempty"`
	LaunchIndex      int               `json:"launch_index"`
	PublicKeys       map[string]string `json:"public_keys,omitempty"`
	Keys             []Key             `json:"keys,omitempty"`
	Meta             map[string]string `json:"meta,omitempty"`
	Devices          []any             `json:"devices"`
	// AdminPass is only set when the API generated one (Nova puts it here too).
	AdminPass string `json:"admin_pass,omitempty"`
}

// Key is one entry of MetaData.Keys.
type Key struct {
	Name string `json:"name"`
	Type string `json:"type"` // "ssh" or "x509"
	Data string `json:"data"`
}

// Content is what goes on a config drive.
type Content struct {
	MetaData MetaData
	// NetworkData is marshaled to network_data.json (nil: no links,
	// networks or services, i.e. DHCP on the first NIC by default).
	NetworkData any
	// UserData is written verbatim as user_data (nil: no file).
	UserData []byte
	// VendorData is vendor_data.json and vendor_data2.json (nil: {}).
	VendorData any
	// ModTime stamps every file (zero: now); set it for reproducible images.
	ModTime time.Time
}

// Build writes the ISO image for c to w.
func Build(w io.Writer, c Content) error {
	md := c.MetaData
	if md.UUID == "" {
		return fmt.Errorf("configdrive: meta_data needs a uuid")
	}
	if md.Devices == nil {
		md.Devices = []any{}
	}
	nd := c.NetworkData
	if nd == nil {
		nd = map[string][]any{"links": {}, "networks": {}, "services": {}}
	}
	vd := c.VendorData
	if vd == nil {
		vd = map[string]any{}
	}
	enc := func(v any) ([]byte, error) { return json.Marshal(v) }
	mdj, err := enc(md)
	if err != nil {
		return err
	}
	ndj, err := enc(nd)
	if err != nil {
		return fmt.Errorf("configdrive: network_data: %w", err)
	}
	vdj, err := enc(vd)
	if err != nil {
		return fmt.Errorf("configdrive: vendor_data: %w", err)
	}
	var files []isoFile
	for _, v := range Versions {
		dir := "openstack/" + v + "/"
		files = append(files,
			isoFile{dir + "meta_data.json", mdj},
			isoFile{dir + "network_data.json", ndj},
			isoFile{dir + "vendor_data.json", vdj},
			isoFile{dir + "vendor_data2.json", vdj},
		)
		if c.UserData != nil {
			files = append(files, isoFile{dir + "user_data", c.UserData})
		}
	}
	mtime := c.ModTime
	if mtime.IsZero() {
		mtime = time.Now()
	}
	return writeISO(w, Label, files, mtime)
}

// WriteFile builds the image into path (mode 0600, written to a temporary
// file and renamed, so readers never see half an image).
func WriteFile(path string, c Content) error {
	var b bytes.Buffer
	if err := Build(&b, c); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".configdrive-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
