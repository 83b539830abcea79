package qemu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/driver/hypervisor"
)

// Paths are the per-guest files in its state directory.
type Paths struct {
	Dir        string // the state directory, <root>/<id>
	Spec       string // spec.json: the definition
	State      string // state.json: what the driver remembers (suspended, last exit)
	PID        string // qemu.pid, written by QEMU (-pidfile)
	Log        string // qemu.log: QEMU's own stdout/stderr
	QMP        string // qmp.sock
	Console    string // console.sock: interactive serial console
	ConsoleLog string // console.log: everything the serial console printed
	VNC        string // vnc.sock (unless the spec asks for TCP)
}

// maxSocketPath is the longest path a unix socket may have (sun_path minus NUL).
const maxSocketPath = 107

// PathsFor returns the paths for the guest whose state directory is dir.
func PathsFor(dir string) Paths {
	j := func(name string) string { return filepath.Join(dir, name) }
	return Paths{
		Dir: dir, Spec: j("spec.json"), State: j("state.json"), PID: j("qemu.pid"), Log: j("qemu.log"),
		QMP: j("qmp.sock"), Console: j("console.sock"), ConsoleLog: j("console.log"), VNC: j("vnc.sock"),
	}
}

// Options are the host-level choices that shape a command line.
type Options struct {
	// Accel is "kvm" or "tcg".
	Accel string
	// TBSizeMB is TCG's translation-block cache size (0 = QEMU's default,
	// which costs ~25 MiB more RSS per guest than 32).
	TBSizeMB int
	// NoSandbox drops QEMU's seccomp sandbox (-sandbox on,…).
	NoSandbox bool
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// NodeName is the QMP block node name for a disk ID: node names are limited
// to 31 characters, so IDs (UUIDs are 36) are hashed.
func NodeName(diskID string) string {
	sum := sha256.Sum256([]byte(diskID))
	return "blk-" + hex.EncodeToString(sum[:])[:20]
}

// DiskDeviceID, NICDeviceID and NetdevID are the QEMU device and netdev IDs
// used for a disk or NIC; they appear in QMP events (DEVICE_DELETED).
func DiskDeviceID(diskID string) string { return "disk-" + diskID }
func NICDeviceID(nicID string) string   { return "nic-" + nicID }
func NetdevID(nicID string) string      { return "net-" + nicID }

// configDriveNode is the node and device name of the config drive.
const configDriveNode = "configdrive"

// esc escapes a value inside a QEMU key=value option list.
func esc(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// jsonArg renders a -blockdev/-device argument in QEMU's JSON syntax, which
// needs no escaping of paths.
func jsonArg(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings, bools and numbers are passed
	}
	return string(b)
}

// BlockdevArgs returns the blockdev-add arguments (also the -blockdev JSON)
// for disk under node name node.
func BlockdevArgs(d hypervisor.Disk, node string) map[string]any {
	format := d.Format
	if format == "" {
		format = "qcow2"
	}
	file := map[string]any{"driver": "file", "filename": d.Path}
	m := map[string]any{"driver": format, "node-name": node, "file": file}
	if d.ReadOnly {
		m["read-only"] = true
		file["read-only"] = true
	} else {
		m["discard"] = "unmap"
		file["discard"] = "unmap"
	}
	return m
}

// DiskDeviceArgs returns the device_add arguments (also the -device JSON)
// for a virtio-blk disk.
func DiskDeviceArgs(d hypervisor.Disk) map[string]any {
	return map[string]any{
		"driver": "virtio-blk-pci", "id": DiskDeviceID(d.ID), "drive": NodeName(d.ID), "serial": d.ID,
	}
}

// NICDeviceArgs returns the device_add arguments for a NIC's virtio-net device.
func NICDeviceArgs(n hypervisor.NIC) map[string]any {
	return map[string]any{
		"driver": "virtio-net-pci", "id": NICDeviceID(n.ID), "netdev": NetdevID(n.ID), "mac": strings.ToLower(n.MAC),
	}
}

// NetdevArgs returns the netdev_add arguments for a NIC's tap backend.
func NetdevArgs(n hypervisor.NIC) map[string]any {
	return map[string]any{"type": "tap", "id": NetdevID(n.ID), "ifname": n.Tap, "script": "no", "downscript": "no"}
}

// BuildArgs returns the qemu-system-x86_64 arguments (without the program
// name) that run spec with its files in p. It is a pure function of its
// inputs; the golden files in testdata/ pin its output.
//
// QEMU runs in the foreground (no -daemonize: the agent is its parent and
// learns of its exit from wait(2)); guest power-off makes QEMU exit (no
// -no-shutdown), so "process gone" means "shutdown".
func BuildArgs(spec hypervisor.Spec, p Paths, o Options) ([]string, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	for _, s := range []string{p.QMP, p.Console, p.VNC} {
		if len(s) > maxSocketPath {
			return nil, fmt.Errorf("%w: socket path %q is longer than %d bytes", hypervisor.ErrInvalidSpec, s, maxSocketPath)
		}
	}
	machine := spec.Machine
	if machine == "" {
		machine = "pc"
	}
	var accel, cpu string
	switch o.Accel {
	case "kvm":
		accel, cpu = "kvm", "host"
	case "tcg":
		accel, cpu = "tcg", "max"
		if o.TBSizeMB > 0 {
			accel += ",tb-size=" + strconv.Itoa(o.TBSizeMB)
		}
	default:
		return nil, fmt.Errorf("qemu: accel %q is neither kvm nor tcg", o.Accel)
	}
	if spec.CPUModel != "" {
		cpu = spec.CPUModel
	}

	a := []string{
		"-name", "guest=nubo-" + spec.ID + ",debug-threads=on",
		"-nodefaults", "-no-user-config",
		"-machine", esc(machine),
		"-accel", accel,
		"-cpu", esc(cpu),
		"-smp", strconv.Itoa(spec.VCPUs),
		"-m", strconv.Itoa(spec.MemoryMB) + "M",
		"-rtc", "base=utc",
		"-display", "none",
		"-msg", "timestamp=on",
	}
	if !o.NoSandbox {
		a = append(a, "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny")
	}
	a = append(a,
		"-pidfile", p.PID,
		"-chardev", "socket,id=qmp,path="+esc(p.QMP)+",server=on,wait=off",
		"-mon", "chardev=qmp,mode=control",
		"-chardev", "socket,id=serial0,path="+esc(p.Console)+",server=on,wait=off,logfile="+esc(p.ConsoleLog)+",logappend=on",
		"-serial", "chardev:serial0",
	)
	// cloud-init recognizes an OpenStack guest by these DMI strings.
	smbios := "type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,serial=" + spec.ID
	if uuidRE.MatchString(spec.ID) {
		a = append(a, "-uuid", spec.ID) // also the SMBIOS system UUID
	}
	a = append(a, "-smbios", smbios)

	if spec.Kernel != "" {
		a = append(a, "-kernel", spec.Kernel)
		if spec.Initrd != "" {
			a = append(a, "-initrd", spec.Initrd)
		}
		if spec.Cmdline != "" {
			a = append(a, "-append", spec.Cmdline)
		}
	}

	disks := spec.Disks
	if spec.Root.Path != "" {
		disks = append([]hypervisor.Disk{spec.Root}, disks...)
	}
	for i, d := range disks {
		dev := DiskDeviceArgs(d)
		if i == 0 && spec.Root.Path != "" && spec.Kernel == "" {
			dev["bootindex"] = 0 // -kernel's option ROM takes bootindex 0 itself
		}
		a = append(a, "-blockdev", jsonArg(BlockdevArgs(d, NodeName(d.ID))), "-device", jsonArg(dev))
	}
	if spec.ConfigDrive != "" {
		cd := hypervisor.Disk{ID: configDriveNode, Path: spec.ConfigDrive, Format: "raw", ReadOnly: true}
		a = append(a,
			"-blockdev", jsonArg(BlockdevArgs(cd, configDriveNode)),
			"-device", jsonArg(map[string]any{"driver": "ide-cd", "id": configDriveNode, "drive": configDriveNode}),
		)
	}
	for _, n := range spec.NICs {
		// -netdev's JSON form needs QEMU >= 7.1's keyval rework; tap names
		// and IDs are validated to hold no commas, so key=value is safe.
		a = append(a,
			"-netdev", "tap,id="+NetdevID(n.ID)+",ifname="+n.Tap+",script=no,downscript=no",
			"-device", jsonArg(NICDeviceArgs(n)),
		)
	}
	switch {
	case spec.VNC.Display > 0:
		v := "127.0.0.1:" + strconv.Itoa(spec.VNC.Display)
		if spec.VNC.Websocket > 0 {
			v += ",websocket=127.0.0.1:" + strconv.Itoa(spec.VNC.Websocket)
		}
		a = append(a, "-device", "VGA", "-vnc", v)
	case spec.VNC.Enabled:
		a = append(a, "-device", "VGA", "-vnc", "unix:"+esc(p.VNC))
	}
	return a, nil
}
