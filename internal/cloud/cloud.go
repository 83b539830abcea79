package cloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/api/cinder"
	"github.com/nubo-cloud/nubo/internal/api/glance"
	"github.com/nubo-cloud/nubo/internal/api/keystone"
	"github.com/nubo-cloud/nubo/internal/api/neutron"
	"github.com/nubo-cloud/nubo/internal/api/nova"
	"github.com/nubo-cloud/nubo/internal/api/placement"
	"github.com/nubo-cloud/nubo/internal/blob/fsblob"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/compute/fakehost"
	"github.com/nubo-cloud/nubo/internal/consoleproxy"
	blockfile "github.com/nubo-cloud/nubo/internal/driver/blockdev/file"
	"github.com/nubo-cloud/nubo/internal/hostapi"
	"github.com/nubo-cloud/nubo/internal/hostctl"
	"github.com/nubo-cloud/nubo/internal/identity"
	"github.com/nubo-cloud/nubo/internal/image"
	"github.com/nubo-cloud/nubo/internal/logkey"
	"github.com/nubo-cloud/nubo/internal/network"
	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/volume"
)

// Config configures a cloud.
type Config struct {
	// PublicURL is the base URL clients reach this control plane at
	// (scheme://host:port); catalog endpoints are built from it.
	PublicURL string
	// Region is the catalog region.
	Region string
	// AdminPassword is set on the admin user at bootstrap ("" keeps it).
	AdminPassword string
	// DataDir is where services keep files (image bytes, …).
	DataDir  string
	Identity identity.Config
	// NoFakeHost leaves out the simulated compute host (driver "fake") that
	// is otherwise registered at bootstrap for API tests; set it when real
	// host agents run the servers.
	NoFakeHost bool
	// FakeHosts is how many simulated hosts to register (0 means 1).
	FakeHosts int
	// NoVNCDir holds noVNC's files for the console proxy ("" serves no
	// page; consoleproxy.FindDir looks in the usual places).
	NoVNCDir string
}

// Cloud is a running control plane.
type Cloud struct {
	Identity *identity.Service
	handler  http.Handler
	log      *slog.Logger
	closers  []func()
	loops    []func(context.Context) error // background loops Run starts
	// Host is the control plane's side of the host agents (hostapi).
	Host     *hostctl.Control
	consoles *consoles
}

// Services lists the catalog entries of the services Nubo serves, given its
// public base URL.
func Services(publicURL string) []identity.CatalogEntry {
	base := strings.TrimRight(publicURL, "/")
	return []identity.CatalogEntry{
		{Type: "identity", Name: "keystone", Description: "Nubo Identity (Keystone v3)", URL: base + "/identity"},
		// Each service adds its catalog entry here.
		{Type: "block-storage", Name: "cinder", Description: "Nubo Block Storage (Cinder v3)", URL: base + "/volume/v3"},
		{Type: "volumev3", Name: "cinderv3", Description: "Nubo Block Storage (Cinder v3)", URL: base + "/volume/v3"},
		{Type: "compute", Name: "nova", Description: "Nubo Compute (Nova v2.1)", URL: base + "/compute/v2.1"},
		{Type: "placement", Name: "placement", Description: "Nubo Placement (read-only)", URL: base + "/placement"},
		{Type: "network", Name: "neutron", Description: "Nubo Networking (Neutron v2.0)", URL: base + "/network"},
		{Type: "image", Name: "glance", Description: "Nubo Image (Glance v2)", URL: base + "/image"},
	}
}

// New bootstraps the store if needed and returns the cloud.
func New(ctx context.Context, st store.Store, cfg Config, log *slog.Logger) (*Cloud, error) {
	if cfg.Region == "" {
		cfg.Region = "RegionOne"
	}
	id := identity.New(st, cfg.Identity, log)
	if err := id.Bootstrap(ctx, identity.BootstrapConfig{AdminPassword: cfg.AdminPassword, Region: cfg.Region, Services: Services(cfg.PublicURL)}); err != nil {
		return nil, fmt.Errorf("bootstrap identity: %w", err)
	}
	mux := http.NewServeMux()
	var closers []func() // run when the cloud stops, after its loops
	keystone.Register(mux, id, log)
	auth := keystone.Authorize(id)
	_ = auth // every other API front-end validates X-Auth-Token through auth
	// Each service registers its routes here.
	comp := compute.New(st, log)
	if err := comp.Bootstrap(ctx, compute.BootstrapConfig{FakeHost: !cfg.NoFakeHost, FakeHosts: cfg.FakeHosts}); err != nil {
		return nil, fmt.Errorf("bootstrap compute: %w", err)
	}
	placement.Register(mux, comp, auth, log)
	imageBlobs, err := fsblob.Open(filepath.Join(cfg.DataDir, "images"))
	if err != nil {
		return nil, fmt.Errorf("image data dir: %w", err)
	}
	images := image.New(st, imageBlobs, image.Config{Fetch: glance.Fetch}, log)
	if n, err := images.Recover(ctx); err != nil {
		return nil, fmt.Errorf("recover images: %w", err)
	} else if n > 0 {
		log.Info("images left half uploaded by a crash were reset", "count", n)
	}
	closers = append(closers, images.Close)
	glance.Register(mux, images, auth, log)
	// Servers: images for boot and snapshots; the control-plane reconciler
	// schedules, the fake host converges servers on simulated hosts.
	comp.SetImages(images)
	loops := []func(context.Context) error{compute.NewServerReconciler(comp).Run, fakehost.New(comp, images, log).Run}
	netSvc := network.New(st, network.DefaultConfig(), log)
	if err := netSvc.Bootstrap(ctx, id, network.DefaultPublicNetwork()); err != nil {
		return nil, fmt.Errorf("bootstrap network: %w", err)
	}
	neutron.Register(mux, netSvc, auth, log)
	// Servers get their ports from Networking.
	comp.SetPorts(ports{net: netSvc})
	nova.Register(mux, comp, auth, log, nova.WithProxy(novaProxy{net: netSvc, images: images}))
	// Block Storage: volume files under DataDir/volumes, backups under
	// DataDir/backups; its reconciler does the backend work.
	volDrv, err := blockfile.New(filepath.Join(cfg.DataDir, "volumes"), "")
	if err != nil {
		return nil, fmt.Errorf("volume data dir: %w", err)
	}
	volBackups, err := fsblob.Open(filepath.Join(cfg.DataDir, "backups"))
	if err != nil {
		return nil, fmt.Errorf("backup data dir: %w", err)
	}
	vols := volume.New(st, volDrv, images, volBackups, volume.DefaultConfig(), log)
	if err := vols.Bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("bootstrap volume: %w", err)
	}
	cinder.Register(mux, vols, auth, log)
	loops = append(loops, vols.Run)
	// Servers' volumes (os-volume_attachments, boot from volume): the
	// control plane prepares boot volumes and releases a deleted server's;
	// the fake host plugs volumes in and out at once.
	comp.SetVolumes(volumes{v: vols})
	loops = append(loops, compute.NewVolumeReconciler(comp).Run, fakehost.NewVolumes(comp, log).Run)
	// Host agents: in process through Host, from other machines over
	// /host/v1 (admins only); DHCP ports follow the servers on real hosts.
	host := hostctl.New(st, comp, netSvc, images, log)
	mux.Handle("/host/v1/", http.StripPrefix("/host/v1", hostapi.Handler(host, log, hostapi.Options{Authorize: hostAuthorizer(auth), Shutdown: ctx})))
	loops = append(loops, host.DHCPReconciler().Run)
	cons := &consoles{remote: host}
	comp.SetConsoles(cons)
	// The noVNC console proxy: tokens from remote-consoles, VNC servers of
	// in-process agents' guests.
	mux.Handle(consoleproxy.Prefix, consoleproxy.Handler(consoleproxy.Options{
		Dir: cfg.NoVNCDir,
		Resolve: func(ctx context.Context, token string) (consoleproxy.Target, error) {
			sv, h, err := comp.ConsoleTarget(ctx, token)
			if errors.Is(err, compute.ErrInvalidConsoleToken) {
				err = consoleproxy.ErrInvalidToken
			}
			return consoleproxy.Target{ServerID: sv, HostID: h}, err
		},
		Dial: func(ctx context.Context, t consoleproxy.Target) (net.Conn, error) {
			return cons.DialVNC(ctx, t.HostID, t.ServerID)
		},
		Log: log.With(logkey.Component, "consoleproxy"),
	}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		apihttp.WriteJSON(w, http.StatusOK, map[string]any{"name": "nubo", "identity": apihttp.BaseURL(r) + "/identity/v3"})
	})
	return &Cloud{Identity: id, handler: apihttp.Outer(log, mux), log: log, closers: closers, loops: loops, Host: host, consoles: cons}, nil
}

// Handler returns the HTTP handler of every API.
func (c *Cloud) Handler() http.Handler { return c.handler }

// Run runs the background loops until ctx ends.
func (c *Cloud) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.Identity.Run(ctx, 10*time.Minute) })
	for _, loop := range c.loops {
		g.Go(func() error { return loop(ctx) })
	}
	err := g.Wait()
	for _, close := range c.closers {
		close()
	}
	return err
}
