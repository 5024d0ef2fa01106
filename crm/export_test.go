package crm

// DisableHooks makes c skip before- and after-hooks altogether, for the
// baseline of the hook-dispatch benchmarks.
func DisableHooks(c *CRM) { c.hooksOff = true }
