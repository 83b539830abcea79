package keystone

import (
	"encoding/json"
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/identity"
)

// OS-EC2 credentials (/v3/users/{user_id}/credentials/OS-EC2).

func ec2View(r *http.Request, c *identity.EC2Credential) view {
	var trust any
	if c.TrustID != nil {
		trust = *c.TrustID
	}
	return view{
		"user_id": c.UserID, "tenant_id": c.ProjectID, "access": c.Access, "secret": c.Secret, "trust_id": trust,
		"links": self(r, "/users/"+c.UserID+"/credentials/OS-EC2/"+c.Access),
	}
}

func (a *api) createEC2Credential(w http.ResponseWriter, r *http.Request) error {
	var body map[string]json.RawMessage
	if err := apihttp.Decode(w, r, &body); err != nil {
		return err
	}
	f := fields(body)
	if !f.has("tenant_id") || f.isNull("tenant_id") {
		return invalid("'tenant_id' is a required property")
	}
	var tenant string
	if err := f.str("tenant_id", &tenant, false); err != nil {
		return err
	}
	c, err := a.id.CreateEC2Credential(r.Context(), r.PathValue("id"), tenant)
	if err != nil {
		return err
	}
	writeOne(w, http.StatusCreated, "credential", ec2View(r, c))
	return nil
}

func (a *api) listEC2Credentials(w http.ResponseWriter, r *http.Request) error {
	cs, err := a.id.ListEC2Credentials(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	views := make([]view, 0, len(cs))
	for _, c := range cs {
		views = append(views, ec2View(r, &c))
	}
	writeList(w, r, "credentials", views)
	return nil
}

func (a *api) getEC2Credential(w http.ResponseWriter, r *http.Request) error {
	c, err := a.id.GetEC2Credential(r.Context(), r.PathValue("id"), r.PathValue("access"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "credential", ec2View(r, c))
	return nil
}

func (a *api) deleteEC2Credential(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteEC2Credential(r.Context(), r.PathValue("id"), r.PathValue("access")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
