package plugins

// WithoutNamespaces runs f with plugins started without PID namespaces,
// as on systems that do not allow them: in their process groups only.
func WithoutNamespaces(f func()) {
	namespaces.mu.Lock()
	tried, work := namespaces.tried, namespaces.work
	namespaces.tried, namespaces.work = true, false
	namespaces.mu.Unlock()
	defer func() {
		namespaces.mu.Lock()
		namespaces.tried, namespaces.work = tried, work
		namespaces.mu.Unlock()
	}()
	f()
}
