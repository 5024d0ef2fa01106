package main

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmhttp"
)

//go:embed web
var webFiles embed.FS

// cookieName holds the ID of the demo user a browser is logged in as.
const cookieName = "crm_console_user"

// newServer returns the console's handler: the CRM's HTTP API under
// /api/, the demo's log-in under /session, and the single-page UI.
//
// The demo's log-in is a cookie naming one of the demo users, with no
// password: a host application authenticates its users its own way and
// hands crmhttp the same two things, a workspace and a principal.
func newServer(c *crm.CRM, opts ...crmhttp.Option) http.Handler {
	mux := http.NewServeMux()
	api := crmhttp.New(c, authenticate, opts...)
	mux.Handle("/api/", http.StripPrefix("/api", api))
	mux.HandleFunc("GET /session", getSession)
	mux.HandleFunc("POST /session", logIn)
	mux.HandleFunc("DELETE /session", logOut)
	static, _ := fs.Sub(webFiles, "web")
	mux.Handle("/", http.FileServerFS(static))
	return mux
}

// authenticate names the request's workspace and principal from the demo
// log-in cookie.
func authenticate(r *http.Request) (string, crm.Principal, error) {
	u, ok := sessionUser(r)
	if !ok {
		return "", crm.Principal{}, errors.New("not logged in")
	}
	return workspaceID, crm.Principal{ID: u.ID, Roles: u.Roles, Teams: u.Teams}, nil
}

func sessionUser(r *http.Request) (user, bool) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return user{}, false
	}
	return userByID(ck.Value)
}

// session is what GET /session answers: who is logged in (nil for
// nobody) and whom one may log in as.
type session struct {
	User  *user  `json:"user"`
	Users []user `json:"users"`
}

func getSession(w http.ResponseWriter, r *http.Request) {
	s := session{Users: users}
	if u, ok := sessionUser(r); ok {
		s.User = &u
	}
	writeJSON(w, http.StatusOK, s)
}

func logIn(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&body); err != nil {
		http.Error(w, "the body must be {\"id\": \"<user>\"}", http.StatusBadRequest)
		return
	}
	u, ok := userByID(body.ID)
	if !ok {
		http.Error(w, "no demo user "+body.ID, http.StatusUnprocessableEntity)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: u.ID, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, session{User: &u, Users: users})
}

func logOut(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Path: "/", MaxAge: -1, Expires: time.Unix(0, 0)})
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
