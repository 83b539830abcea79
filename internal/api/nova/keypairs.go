package nova

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/fault"
)

func keypairBrief(r *http.Request, k *compute.Keypair) map[string]any {
	v := map[string]any{"name": k.Name, "public_key": k.PublicKey, "fingerprint": k.Fingerprint}
	if mv(r).AtLeast(2, 2) {
		v["type"] = k.Type
	}
	return v
}

// userParam is the user_id query parameter, honoured from 2.10.
func userParam(r *http.Request) string {
	if !mv(r).AtLeast(2, 10) {
		return ""
	}
	return r.URL.Query().Get("user_id")
}

func (a *api) listKeypairs(w http.ResponseWriter, r *http.Request) error {
	ks, err := a.c.ListKeypairs(r.Context(), userParam(r))
	if err != nil {
		return err
	}
	var next string
	if mv(r).AtLeast(2, 35) {
		page, err := apihttp.Paginate(r, ks, func(k compute.Keypair) string { return k.Name }, 1000)
		if err != nil {
			return err
		}
		ks, next = page.Items, page.Next
	}
	out := make([]map[string]any, 0, len(ks))
	for i := range ks {
		out = append(out, map[string]any{"keypair": keypairBrief(r, &ks[i])})
	}
	body := map[string]any{"keypairs": out}
	if next != "" {
		body["keypairs_links"] = []link{{Rel: "next", Href: apihttp.NextLink(apihttp.BaseURL(r), r, next)}}
	}
	apihttp.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (a *api) createKeypair(w http.ResponseWriter, r *http.Request) error {
	m, err := decodeBody(w, r, "keypair")
	if err != nil {
		return err
	}
	allowed := []string{"name", "public_key"}
	if mv(r).AtLeast(2, 2) {
		allowed = append(allowed, "type")
	}
	if mv(r).AtLeast(2, 10) {
		allowed = append(allowed, "user_id")
	}
	if err := onlyFields(m, allowed...); err != nil {
		return err
	}
	var req compute.KeypairRequest
	for name, dst := range map[string]*string{"name": &req.Name, "public_key": &req.PublicKey, "type": &req.Type, "user_id": &req.UserID} {
		s, err := stringField(m, name)
		if err != nil {
			return err
		}
		if s != nil {
			*dst = *s
		}
	}
	if _, ok := m["name"]; !ok {
		return badRequest("Invalid input for field/attribute keypair. Value: None. 'name' is a required property.")
	}
	if raw, ok := m["public_key"]; ok && req.PublicKey == "" && string(raw) != "null" {
		return badRequest("Keypair data is invalid: failed to generate fingerprint")
	}
	if req.Type != "" && req.Type != compute.KeypairSSH && req.Type != compute.KeypairX509 {
		return badRequest("Invalid input for field/attribute type. Value: %s. '%s' is not one of ['ssh', 'x509'].", req.Type, req.Type)
	}
	k, err := a.c.CreateKeypair(r.Context(), req)
	if err != nil {
		return err
	}
	v := keypairBrief(r, k)
	v["user_id"] = k.UserID
	if k.PrivateKey != "" {
		v["private_key"] = k.PrivateKey
	}
	status := http.StatusOK
	if mv(r).AtLeast(2, 2) {
		status = http.StatusCreated
	}
	apihttp.WriteJSON(w, status, map[string]any{"keypair": v})
	return nil
}

func (a *api) getKeypair(w http.ResponseWriter, r *http.Request) error {
	k, err := a.c.GetKeypair(r.Context(), userParam(r), r.PathValue("name"))
	if err != nil {
		return err
	}
	v := keypairBrief(r, k)
	v["user_id"] = k.UserID
	v["id"] = k.Seq
	v["created_at"] = ts(k.CreatedAt)
	v["updated_at"] = nil
	v["deleted_at"] = nil
	v["deleted"] = false
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"keypair": v})
	return nil
}

func (a *api) deleteKeypair(w http.ResponseWriter, r *http.Request) error {
	if err := a.c.DeleteKeypair(r.Context(), userParam(r), r.PathValue("name")); err != nil {
		return err
	}
	if mv(r).AtLeast(2, 2) {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusAccepted)
	}
	return nil
}

func methodNotAllowed() error {
	return fault.New(fault.MethodNotAllowed, "The requested method is not allowed for this resource at this microversion.")
}
