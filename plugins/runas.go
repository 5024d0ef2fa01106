package plugins

import (
	"fmt"
	"os/user"
	"strconv"
)

// runAs is the OS user a plugin runs as (Spec.User), when it is not the
// host's: its user and group IDs and supplementary groups.
type runAs struct {
	uid, gid uint32
	groups   []uint32
}

// lookupRunAs resolves Spec.User ("name" or numeric ID) and, if set,
// Config.SocketGroup, which the plugin joins so that it can create its
// socket where the host reaches it. It returns nil for "".
func lookupRunAs(name, socketGroup string) (*runAs, error) {
	if name == "" {
		return nil, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return nil, fmt.Errorf("plugins: user %q: %w", name, err)
		}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("plugins: user %q has no numeric user and group ID (%s, %s)", name, u.Uid, u.Gid)
	}
	r := &runAs{uid: uint32(uid), gid: uint32(gid)}
	if socketGroup != "" {
		g, err := user.LookupGroup(socketGroup)
		if err != nil {
			if g, err = user.LookupGroupId(socketGroup); err != nil {
				return nil, fmt.Errorf("plugins: socket group %q: %w", socketGroup, err)
			}
		}
		sgid, err := strconv.ParseUint(g.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("plugins: socket group %q has no numeric ID (%s)", socketGroup, g.Gid)
		}
		r.groups = []uint32{uint32(sgid)}
	}
	return r, nil
}
