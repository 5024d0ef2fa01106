package plugins

// ChannelAddr returns where the running process of the plugin named
// listens for before-hook calls, if it has a channel.
func ChannelAddr(h *Host, name string) (network, addr string, ok bool) {
	for _, p := range h.procs {
		if p.spec.Name != name {
			continue
		}
		if inst := p.current(); inst != nil && inst.channel != nil {
			return inst.channel.network, inst.channel.addr, true
		}
	}
	return "", "", false
}
