package neutron

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/network"
)

func (a *api) routerView(r *http.Request, rt *network.Router) view {
	return routerView(rt, a.net.AvailabilityZones(), isAdmin(r))
}

func (a *api) createRouter(w http.ResponseWriter, r *http.Request) error {
	var spec network.RouterSpec
	if err := decodeBody(w, r, "router", &spec); err != nil {
		return err
	}
	rt, err := a.net.CreateRouter(r.Context(), spec)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusCreated, "router", a.routerView(r, rt))
}

func (a *api) listRouters(w http.ResponseWriter, r *http.Request) error {
	routers, err := a.net.ListRouters(r.Context())
	if err != nil {
		return err
	}
	out := make([]view, 0, len(routers))
	for i := range routers {
		out = append(out, a.routerView(r, &routers[i]))
	}
	return writeList(w, r, "routers", out)
}

func (a *api) getRouter(w http.ResponseWriter, r *http.Request) error {
	rt, err := a.net.GetRouter(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "router", a.routerView(r, rt))
}

func (a *api) updateRouter(w http.ResponseWriter, r *http.Request) error {
	var spec network.RouterSpec
	if err := decodeBody(w, r, "router", &spec); err != nil {
		return err
	}
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	spec.IfRevision = rev
	rt, err := a.net.UpdateRouter(r.Context(), r.PathValue("id"), spec)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "router", a.routerView(r, rt))
}

func (a *api) deleteRouter(w http.ResponseWriter, r *http.Request) error {
	if err := a.net.DeleteRouter(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

type interfaceReq struct {
	SubnetID string `json:"subnet_id"`
	PortID   string `json:"port_id"`
}

func interfaceView(info *network.InterfaceInfo) view {
	return view{"id": info.RouterID, "subnet_id": info.SubnetID, "subnet_ids": info.SubnetIDs, "port_id": info.PortID,
		"network_id": info.NetworkID, "project_id": info.ProjectID, "tenant_id": info.ProjectID}
}

func (a *api) addInterface(w http.ResponseWriter, r *http.Request) error {
	var req interfaceReq
	if err := apihttp.Decode(w, r, &req); err != nil {
		return err
	}
	info, err := a.net.AddInterface(r.Context(), r.PathValue("id"), req.SubnetID, req.PortID)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, interfaceView(info))
	return nil
}

func (a *api) removeInterface(w http.ResponseWriter, r *http.Request) error {
	var req interfaceReq
	if err := apihttp.Decode(w, r, &req); err != nil {
		return err
	}
	info, err := a.net.RemoveInterface(r.Context(), r.PathValue("id"), req.SubnetID, req.PortID)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, interfaceView(info))
	return nil
}

func (a *api) changeRoutes(w http.ResponseWriter, r *http.Request, add bool) error {
	var req struct {
		Routes []network.Route `json:"routes"`
	}
	if err := decodeBody(w, r, "router", &req); err != nil {
		return err
	}
	rt, err := a.net.ChangeRoutes(r.Context(), r.PathValue("id"), req.Routes, add)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "router", a.routerView(r, rt))
}

func (a *api) addRoutes(w http.ResponseWriter, r *http.Request) error {
	return a.changeRoutes(w, r, true)
}
func (a *api) removeRoutes(w http.ResponseWriter, r *http.Request) error {
	return a.changeRoutes(w, r, false)
}
