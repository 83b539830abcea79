package nova

import (
	"encoding/json"
	"net/http"
	"net/netip"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
)

// os-floating-ips and os-floating-ip-pools (before 2.36), and the
// addFloatingIp/removeFloatingIp server actions (before 2.44), proxied to
// Networking. A pool is an external network, named by name or ID.

func floatingIPView(f *ProxyFloatingIP) map[string]any {
	v := map[string]any{"id": f.ID, "ip": f.Address, "pool": nil, "fixed_ip": nil, "instance_id": nil}
	if f.NetworkName != "" {
		v["pool"] = f.NetworkName
	}
	if f.FixedAddress != "" {
		v["fixed_ip"] = f.FixedAddress
	}
	if f.PortID != "" && f.DeviceID != "" {
		v["instance_id"] = f.DeviceID
	}
	return v
}

func fipNotFound(err error, id string) error {
	if fault.Is(err, fault.NotFound) {
		return fault.New(fault.NotFound, "Floating IP not found for ID %s", id)
	}
	return err
}

func (a *api) listFloatingIPs(w http.ResponseWriter, r *http.Request) error {
	p, err := a.px()
	if err != nil {
		return err
	}
	list, err := p.ListFloatingIPs(r.Context())
	if err != nil {
		return err
	}
	c := policy.FromContext(r.Context())
	out := []map[string]any{}
	for i := range list {
		// Nova lists the project's floating IPs, admins included.
		if c != nil && list[i].ProjectID != c.ProjectID {
			continue
		}
		out = append(out, floatingIPView(&list[i]))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"floating_ips": out})
	return nil
}

func (a *api) getFloatingIP(w http.ResponseWriter, r *http.Request) error {
	p, err := a.px()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	f, err := p.GetFloatingIP(r.Context(), id)
	if err != nil {
		return fipNotFound(err, id)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"floating_ip": floatingIPView(f)})
	return nil
}

// defaultPool is Nova's [neutron] default_floating_pool ("nova"); with no
// network of that name, the only external network is the pool.
const defaultPool = "nova"

// poolNetwork finds the external network named (or with ID) pool.
func (a *api) poolNetwork(r *http.Request, p Proxy, pool string) (string, error) {
	nets, err := p.ListNetworks(r.Context())
	if err != nil {
		return "", err
	}
	var external []ProxyNetwork
	for _, n := range nets {
		if !n.External {
			continue
		}
		external = append(external, n)
		if n.ID == pool || n.Name == pool {
			return n.ID, nil
		}
	}
	if pool == defaultPool && len(external) == 1 {
		return external[0].ID, nil
	}
	return "", fault.New(fault.NotFound, "Floating IP pool not found.")
}

func (a *api) createFloatingIP(w http.ResponseWriter, r *http.Request) error {
	p, err := a.px()
	if err != nil {
		return err
	}
	pool := defaultPool
	named := false
	if r.ContentLength != 0 {
		var body map[string]json.RawMessage
		if err := apihttp.Decode(w, r, &body); err != nil {
			return err
		}
		if s, err := stringField(body, "pool"); err != nil {
			return err
		} else if s != nil {
			pool, named = *s, true
		}
	}
	netID, err := a.poolNetwork(r, p, pool)
	if err != nil {
		return err
	}
	f, err := p.CreateFloatingIP(r.Context(), netID)
	if err != nil {
		fe := fault.As(err)
		switch {
		case fe == nil:
			return err
		case fe.Type == "OverQuota":
			if named {
				return fault.Wrap(fault.Forbidden, err, "IP allocation over quota in pool "+pool+".")
			}
			return fault.Wrap(fault.Forbidden, err, "IP allocation over quota.")
		case fe.Type == "IpAddressGenerationFailure" || fe.Type == "ExternalIpAddressExhausted":
			if named {
				return fault.Wrap(fault.NotFound, err, "No more floating IPs in pool "+pool+".")
			}
			return fault.Wrap(fault.NotFound, err, "No more floating IPs available.")
		case fe.Kind == fault.BadRequest:
			return err
		}
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"floating_ip": floatingIPView(f)})
	return nil
}

func (a *api) deleteFloatingIP(w http.ResponseWriter, r *http.Request) error {
	p, err := a.px()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	f, err := p.GetFloatingIP(r.Context(), id)
	if err != nil {
		return fipNotFound(err, id)
	}
	if f.PortID != "" {
		if err := p.AssociateFloatingIP(r.Context(), id, "", ""); err != nil {
			return fipNotFound(err, id)
		}
	}
	if err := p.DeleteFloatingIP(r.Context(), id); err != nil {
		return fipNotFound(err, id)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) listFloatingIPPools(w http.ResponseWriter, r *http.Request) error {
	p, err := a.px()
	if err != nil {
		return err
	}
	nets, err := p.ListNetworks(r.Context())
	if err != nil {
		return err
	}
	out := []map[string]string{}
	for _, n := range nets {
		if n.External {
			out = append(out, map[string]string{"name": n.Name})
		}
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"floating_ip_pools": out})
	return nil
}

// fipByAddress finds the caller's floating IP with address addr.
func fipByAddress(r *http.Request, p Proxy, addr string) (*ProxyFloatingIP, error) {
	list, err := p.ListFloatingIPs(r.Context())
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].Address == addr {
			return &list[i], nil
		}
	}
	return nil, fault.New(fault.NotFound, "floating IP not found")
}

// addressArg reads the action's "address" (required, an IP address).
func addressArg(b *actionBody, name string) (string, error) {
	s, err := stringField(b.args, name)
	if err != nil {
		return "", err
	}
	if s == nil {
		return "", badRequest("Invalid input for field/attribute %s. Value: None. '%s' is a required property.", b.name, name)
	}
	if _, err := netip.ParseAddr(*s); err != nil {
		return "", badRequest("Invalid input for field/attribute %s. Value: %s. '%s' is not a 'ip-address'", name, *s, *s)
	}
	return *s, nil
}

// floatingIPAction serves addFloatingIp and removeFloatingIp.
func (a *api) floatingIPAction(w http.ResponseWriter, r *http.Request, b *actionBody) error {
	if mv(r).AtLeast(2, 44) {
		return notFoundf("There is no such action: %s", b.name)
	}
	ctx, id := r.Context(), r.PathValue("id")
	if _, err := a.c.GetServer(ctx, id); err != nil {
		return err
	}
	p, err := a.px()
	if err != nil {
		return err
	}
	addr, err := addressArg(b, "address")
	if err != nil {
		return err
	}
	if b.name == "removeFloatingIp" {
		f, err := fipByAddress(r, p, addr)
		if err != nil {
			return err
		}
		if f.PortID == "" || f.DeviceID != id {
			return fault.New(fault.Conflict, "Floating IP %s is not associated with instance %s.", addr, id)
		}
		if err := p.AssociateFloatingIP(ctx, f.ID, "", ""); err != nil {
			return err
		}
		accepted(w)
		return nil
	}
	var fixed string
	if _, ok := b.args["fixed_address"]; ok {
		if fixed, err = addressArg(b, "fixed_address"); err != nil {
			return err
		}
	}
	ports, err := p.ServerPorts(ctx, id)
	if err != nil {
		return err
	}
	if len(ports) == 0 {
		return badRequest("Instance network is not ready yet")
	}
	portID, n := "", 0
	for _, port := range ports {
		for _, ip := range port.FixedIPs {
			n++
			v, err := netip.ParseAddr(ip)
			switch {
			case fixed != "" && ip == fixed:
				portID = port.ID
			case fixed == "" && portID == "" && err == nil && v.Is4():
				portID, fixed = port.ID, ip
			}
		}
	}
	switch {
	case n == 0:
		return badRequest("No fixed IPs associated to instance")
	case portID == "" && fixed != "":
		return badRequest("Specified fixed address not assigned to instance")
	case portID == "":
		return badRequest("Unable to associate floating IP %s to any fixed IPs for instance %s. Instance has no fixed IPv4 addresses to associate.", addr, id)
	}
	f, err := fipByAddress(r, p, addr)
	if err != nil {
		return err
	}
	if err := p.AssociateFloatingIP(ctx, f.ID, portID, fixed); err != nil {
		fe := fault.As(err)
		switch {
		case fe == nil:
			return err
		case fe.Kind == fault.NotFound:
			return fault.Wrap(fault.NotFound, err, "floating IP not found")
		case fe.Kind == fault.Forbidden:
			return err
		}
		return fault.Wrap(fault.BadRequest, err, "Unable to associate floating IP "+addr+" to fixed IP "+fixed+" for instance "+id+". Error: "+fe.Msg)
	}
	accepted(w)
	return nil
}
