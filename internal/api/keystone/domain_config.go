package keystone

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
)

// Domain-specific configuration (/v3/domains/{id}/config...). Nubo stores
// it with Keystone's rules but has no domain-specific drivers (LDAP): see
// identity.DomainConfig.

// decodeConfig reads {"config": {...}}; an absent config is empty (which
// the service rejects as Keystone does: "No options specified").
func decodeConfig(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, error) {
	var env map[string]json.RawMessage
	if err := apihttp.Decode(w, r, &env); err != nil {
		return nil, err
	}
	raw, ok := env["config"]
	if !ok {
		return map[string]json.RawMessage{}, nil
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, invalid("Invalid input for field 'config': %s is not of type 'object'", string(raw))
	}
	return cfg, nil
}

func writeConfig(w http.ResponseWriter, status int, cfg map[string]any) {
	apihttp.WriteJSON(w, status, map[string]any{"config": cfg})
}

func (a *api) createDomainConfig(w http.ResponseWriter, r *http.Request) error {
	cfg, err := decodeConfig(w, r)
	if err != nil {
		return err
	}
	out, created, err := a.id.CreateDomainConfig(r.Context(), r.PathValue("id"), cfg)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeConfig(w, status, out)
	return nil
}

func (a *api) getDomainConfig(w http.ResponseWriter, r *http.Request) error {
	out, err := a.id.GetDomainConfig(r.Context(), r.PathValue("id"), "", "")
	if err != nil {
		return err
	}
	writeConfig(w, http.StatusOK, out)
	return nil
}

// getDomainConfigPath serves GET on the four- and five-segment paths under
// /domains: a domain's group or option (/domains/{id}/config/{group}[/{option}])
// or a default group or option (/domains/config/{group}[/{option}]/default).
func (a *api) getDomainConfigPath(w http.ResponseWriter, r *http.Request) error {
	seg := []string{r.PathValue("a"), r.PathValue("b"), r.PathValue("c")}
	if d := r.PathValue("d"); d != "" {
		seg = append(seg, d)
	}
	var (
		out map[string]any
		err error
	)
	switch {
	case seg[0] == "config" && seg[len(seg)-1] == "default":
		option := ""
		if len(seg) == 4 {
			option = seg[2]
		}
		out, err = a.id.DefaultDomainConfig(r.Context(), seg[1], option)
	case seg[1] == "config":
		option := ""
		if len(seg) == 4 {
			option = seg[3]
		}
		out, err = a.id.GetDomainConfig(r.Context(), seg[0], seg[2], option)
	default:
		return fault.New(fault.NotFound, "The resource could not be found.")
	}
	if err != nil {
		return err
	}
	writeConfig(w, http.StatusOK, out)
	return nil
}

func (a *api) getDefaultDomainConfig(w http.ResponseWriter, r *http.Request) error {
	out, err := a.id.DefaultDomainConfig(r.Context(), "", "")
	if err != nil {
		return err
	}
	writeConfig(w, http.StatusOK, out)
	return nil
}

func (a *api) updateDomainConfig(w http.ResponseWriter, r *http.Request) error {
	cfg, err := decodeConfig(w, r)
	if err != nil {
		return err
	}
	out, err := a.id.UpdateDomainConfig(r.Context(), r.PathValue("id"), r.PathValue("group"), r.PathValue("option"), cfg)
	if err != nil {
		return err
	}
	writeConfig(w, http.StatusOK, out)
	return nil
}

func (a *api) deleteDomainConfig(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteDomainConfig(r.Context(), r.PathValue("id"), r.PathValue("group"), r.PathValue("option")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
