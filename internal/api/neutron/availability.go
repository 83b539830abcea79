package neutron

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/fault"

	"github.com/nubo-cloud/nubo/internal/network"
)

func availabilityView(n *network.NetworkAvailability) view {
	var total, used uint64
	subnets := []view{}
	for _, s := range n.Subnets {
		var t uint64
		for _, c := range s.TotalIPs {
			t = t*10 + uint64(c-'0')
		}
		total += t
		used += s.UsedIPs
		subnets = append(subnets, view{"subnet_id": s.SubnetID, "subnet_name": s.SubnetName, "cidr": s.CIDR, "ip_version": s.IPVersion,
			"total_ips": t, "used_ips": s.UsedIPs})
	}
	return view{"id": n.NetworkID, "network_id": n.NetworkID, "network_name": n.NetworkName, "project_id": n.ProjectID, "tenant_id": n.ProjectID,
		"total_ips": total, "used_ips": used, "subnet_ip_availability": subnets}
}

func (a *api) availabilityViews(r *http.Request) ([]view, error) {
	all, err := a.net.IPAvailabilities(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]view, 0, len(all))
	for i := range all {
		out = append(out, availabilityView(&all[i]))
	}
	return out, nil
}

func (a *api) listAvailabilities(w http.ResponseWriter, r *http.Request) error {
	out, err := a.availabilityViews(r)
	if err != nil {
		return err
	}
	for _, v := range out {
		delete(v, "id")
	}
	for i := range out {
		out[i]["id"] = out[i]["network_id"]
	}
	return writeList(w, r, "network_ip_availabilities", out)
}

func (a *api) getAvailability(w http.ResponseWriter, r *http.Request) error {
	out, err := a.availabilityViews(r)
	if err != nil {
		return err
	}
	for _, v := range out {
		if v["network_id"] == r.PathValue("id") {
			delete(v, "id")
			return writeOne(w, r, http.StatusOK, "network_ip_availability", v)
		}
	}
	return &fault.Error{Kind: fault.NotFound, Type: "NetworkNotFound", Msg: "Network " + r.PathValue("id") + " could not be found."}
}

func (a *api) listAZs(w http.ResponseWriter, r *http.Request) error {
	out := []view{}
	for _, z := range a.net.AvailabilityZones() {
		out = append(out, view{"id": "network/" + z, "name": z, "resource": "network", "state": "available"},
			view{"id": "router/" + z, "name": z, "resource": "router", "state": "available"})
	}
	if err := writeList(w, r, "availability_zones", out); err != nil {
		return err
	}
	return nil
}
