package neutron

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/network"
)

func pfView(pf *network.PortForwarding) view {
	return view{"id": pf.ID, "protocol": pf.Protocol, "internal_ip_address": pf.InternalIPAddress, "internal_port": pf.InternalPort,
		"internal_port_id": pf.InternalPortID, "external_port": pf.ExternalPort, "description": pf.Description}
}

func (a *api) createPF(w http.ResponseWriter, r *http.Request) error {
	var spec network.PortForwardingSpec
	if err := decodeBody(w, r, "port_forwarding", &spec); err != nil {
		return err
	}
	pf, err := a.net.CreatePortForwarding(r.Context(), r.PathValue("fip"), spec)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusCreated, "port_forwarding", pfView(pf))
}

func (a *api) listPFs(w http.ResponseWriter, r *http.Request) error {
	pfs, err := a.net.ListPortForwardings(r.Context(), r.PathValue("fip"))
	if err != nil {
		return err
	}
	out := make([]view, 0, len(pfs))
	for i := range pfs {
		out = append(out, pfView(&pfs[i]))
	}
	return writeList(w, r, "port_forwardings", out)
}

func (a *api) getPF(w http.ResponseWriter, r *http.Request) error {
	pf, err := a.net.GetPortForwarding(r.Context(), r.PathValue("fip"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "port_forwarding", pfView(pf))
}

func (a *api) updatePF(w http.ResponseWriter, r *http.Request) error {
	var spec network.PortForwardingSpec
	if err := decodeBody(w, r, "port_forwarding", &spec); err != nil {
		return err
	}
	pf, err := a.net.UpdatePortForwarding(r.Context(), r.PathValue("fip"), r.PathValue("id"), spec)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "port_forwarding", pfView(pf))
}

func (a *api) deletePF(w http.ResponseWriter, r *http.Request) error {
	if err := a.net.DeletePortForwarding(r.Context(), r.PathValue("fip"), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
