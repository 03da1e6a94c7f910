package packertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// HCPRegistry is a stand-in for the HCP Packer API (2023-01-01) and its
// OAuth2 token endpoint on loopback, for the calls packer 1.12 makes in a
// `packer build` with an hcp_packer_registry block: get or create the
// bucket, get or create the version of the build's fingerprint, list and
// create its builds, and update each build (running, then done with its
// artifacts, labels and source). It keeps what reaches it for the test to
// assert; a call it does not know is answered 404 and recorded.
type HCPRegistry struct {
	server *httptest.Server

	mu         sync.Mutex
	buckets    map[string]bool
	versions   map[string]string // fingerprint -> version ID
	builds     map[string]*HCPBuild
	unexpected []string
}

// HCPBuild is a build as the stand-in holds it after packer's updates.
type HCPBuild struct {
	ID                       string            `json:"id"`
	ComponentType            string            `json:"component_type"`
	Platform                 string            `json:"platform,omitempty"`
	Status                   string            `json:"status"`
	PackerRunUUID            string            `json:"packer_run_uuid,omitempty"`
	SourceExternalIdentifier string            `json:"source_external_identifier,omitempty"`
	ParentVersionID          string            `json:"parent_version_id,omitempty"`
	Labels                   map[string]string `json:"labels,omitempty"`
	Artifacts                []HCPArtifact     `json:"artifacts"`
}

// HCPArtifact is an image as packer registers it with a build.
type HCPArtifact struct {
	ExternalIdentifier string `json:"external_identifier"`
	Region             string `json:"region"`
}

const (
	hcpOrg    = "org-kvm-test"
	hcpProj   = "proj-kvm-test"
	hcpToken  = "stand-in-token"
	hcpSecret = "stand-in-secret"
)

// StartHCPRegistry serves the stand-in over TLS on 127.0.0.1 until the test ends.
func StartHCPRegistry(t *testing.T) *HCPRegistry {
	r := &HCPRegistry{buckets: map[string]bool{}, versions: map[string]string{}, builds: map[string]*HCPBuild{}}
	r.server = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.server.Close)
	return r
}

// Env is what points packer at the stand-in: the HCP SDK takes the auth URL
// and API address from the environment, and the stand-in's self-signed
// certificate needs TLS without verification.
func (r *HCPRegistry) Env() []string {
	return []string{
		"HCP_AUTH_URL=" + r.server.URL,
		"HCP_API_ADDRESS=" + strings.TrimPrefix(r.server.URL, "https://"),
		"HCP_AUTH_TLS=insecure",
		"HCP_API_TLS=insecure",
		"HCP_CLIENT_ID=kvm-test",
		"HCP_CLIENT_SECRET=" + hcpSecret,
		"HCP_ORGANIZATION_ID=" + hcpOrg,
		"HCP_PROJECT_ID=" + hcpProj,
	}
}

// Builds returns copies of the builds packer created.
func (r *HCPRegistry) Builds() []HCPBuild {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []HCPBuild
	for _, b := range r.builds {
		out = append(out, *b)
	}
	return out
}

func (r *HCPRegistry) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.URL.Path == "/oauth2/token" {
		r.token(w, req)
		return
	}
	if req.Header.Get("Authorization") != "Bearer "+hcpToken {
		hcpError(w, http.StatusUnauthorized, 16, "no valid bearer token")
		return
	}
	prefix := fmt.Sprintf("/packer/2023-01-01/organizations/%s/projects/%s/buckets", hcpOrg, hcpProj)
	rest, ok := strings.CutPrefix(req.URL.Path, prefix)
	if !ok {
		r.refuse(w, req)
		return
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case rest == "" && req.Method == http.MethodPut:
		var body struct{ Name string }
		json.NewDecoder(req.Body).Decode(&body)
		r.buckets[body.Name] = true
		reply(w, map[string]interface{}{"bucket": map[string]string{"name": body.Name}})
	case len(parts) == 1 && (req.Method == http.MethodGet || req.Method == http.MethodPatch):
		if !r.buckets[parts[0]] {
			hcpError(w, http.StatusNotFound, 5, "bucket not found")
			return
		}
		reply(w, map[string]interface{}{"bucket": map[string]string{"name": parts[0]}})
	case len(parts) == 2 && parts[1] == "versions" && req.Method == http.MethodPost:
		var body struct{ Fingerprint string }
		json.NewDecoder(req.Body).Decode(&body)
		r.versions[body.Fingerprint] = "version-" + body.Fingerprint
		reply(w, map[string]interface{}{"version": r.version(parts[0], body.Fingerprint)})
	case len(parts) == 3 && parts[1] == "versions" && req.Method == http.MethodGet:
		if r.versions[parts[2]] == "" {
			// What the service answers for a fingerprint it has no version
			// of: packer then creates the version.
			hcpError(w, http.StatusConflict, 10, "version not found")
			return
		}
		reply(w, map[string]interface{}{"version": r.version(parts[0], parts[2])})
	case len(parts) == 4 && parts[3] == "builds" && req.Method == http.MethodGet:
		reply(w, map[string]interface{}{"builds": []interface{}{}})
	case len(parts) == 4 && parts[3] == "builds" && req.Method == http.MethodPost:
		var body HCPBuild
		json.NewDecoder(req.Body).Decode(&body)
		b := &HCPBuild{ID: fmt.Sprintf("build-%d", len(r.builds)+1), ComponentType: body.ComponentType, Status: body.Status, PackerRunUUID: body.PackerRunUUID}
		r.builds[b.ID] = b
		reply(w, map[string]interface{}{"build": b})
	case len(parts) == 5 && parts[3] == "builds" && req.Method == http.MethodPatch:
		b := r.builds[parts[4]]
		if b == nil {
			hcpError(w, http.StatusNotFound, 5, "build not found")
			return
		}
		r.updateBuild(b, req)
		reply(w, map[string]interface{}{"build": b})
	default:
		r.refuse(w, req)
	}
}

// token answers the OAuth2 client-credentials grant for the stand-in's client.
func (r *HCPRegistry) token(w http.ResponseWriter, req *http.Request) {
	req.ParseForm()
	id, secret, ok := req.BasicAuth()
	if !ok {
		id, secret = req.PostForm.Get("client_id"), req.PostForm.Get("client_secret")
	}
	if req.PostForm.Get("grant_type") != "client_credentials" || id != "kvm-test" || secret != hcpSecret {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	reply(w, map[string]interface{}{"access_token": hcpToken, "token_type": "Bearer", "expires_in": 3600})
}

// updateBuild applies packer's UpdateBuild body: status heartbeats carry
// the status alone; the last update carries everything else.
func (r *HCPRegistry) updateBuild(b *HCPBuild, req *http.Request) {
	var body HCPBuild
	json.NewDecoder(req.Body).Decode(&body)
	if body.Status != "" {
		b.Status = body.Status
	}
	if body.Artifacts != nil {
		b.Artifacts = body.Artifacts
	}
	if body.Labels != nil {
		b.Labels = body.Labels
	}
	for _, f := range []struct {
		dst *string
		src string
	}{
		{&b.Platform, body.Platform}, {&b.SourceExternalIdentifier, body.SourceExternalIdentifier}, {&b.ParentVersionID, body.ParentVersionID},
	} {
		if f.src != "" {
			*f.dst = f.src
		}
	}
}

func (r *HCPRegistry) version(bucket, fingerprint string) map[string]interface{} {
	// "v0" is the name of a version that is not complete yet.
	return map[string]interface{}{"id": r.versions[fingerprint], "bucket_name": bucket, "fingerprint": fingerprint, "name": "v0", "template_type": "HCL2"}
}

// Unexpected lists the calls the stand-in does not know.
func (r *HCPRegistry) Unexpected() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.unexpected...)
}

func (r *HCPRegistry) refuse(w http.ResponseWriter, req *http.Request) {
	r.unexpected = append(r.unexpected, req.Method+" "+req.URL.Path)
	hcpError(w, http.StatusNotFound, 5, "the stand-in does not serve this")
}

func reply(w http.ResponseWriter, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// hcpError is an error as the HCP API gives it: a gRPC status as JSON,
// whose code packer reads.
func hcpError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]interface{}{"code": code, "message": msg, "details": []interface{}{}})
}
