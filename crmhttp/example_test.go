package crmhttp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmhttp"
	"github.com/crmkit/crmkit/store/memory"
)

// Example mounts the API under /crm/ next to a host's own routes. The toy
// Authenticator trusts a header; a real one checks the host's session or
// API key and looks up the user's tenant and roles.
func Example() {
	ctx := context.Background()
	c := crm.New(memory.New())
	if _, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"}); err != nil {
		panic(err)
	}
	auth := func(r *http.Request) (string, crm.Principal, error) {
		user := r.Header.Get("X-Demo-User")
		if user == "" {
			return "", crm.Principal{}, errors.New("not signed in")
		}
		return "acme", crm.Principal{ID: user}, nil
	}

	mux := http.NewServeMux()
	mux.Handle("/crm/", http.StripPrefix("/crm", crmhttp.New(c, auth)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/crm/contacts",
		strings.NewReader(`{"first_name": "Ada", "emails": ["ada@example.com"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Demo-User", "u_ann")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("ETag"))

	// The Location is relative to the request: it holds under the prefix.
	loc, _ := resp.Request.URL.Parse(resp.Header.Get("Location"))
	fmt.Println(strings.HasPrefix(loc.Path, "/crm/contacts/"))

	resp, err = http.Get(srv.URL + "/crm/contacts") // no user
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	fmt.Print(string(body))
	// Output:
	// 201 Created "1"
	// true
	// 401 Unauthorized application/problem+json
	// {"type":"urn:crmkit:problem:unauthorized","title":"Unauthorized","status":401,"detail":"the request is not authenticated"}
}
