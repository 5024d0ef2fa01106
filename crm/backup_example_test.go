package crm_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store/memory"
)

// A workspace is backed up to one file and restored into another store,
// which may be of another backend (Badger to PostgreSQL, say), then
// checked.
func ExampleCRM_Backup() {
	ctx := context.Background()
	src := crm.New(memory.New())
	ws, _ := src.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"})
	_, _ = ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}})

	var file bytes.Buffer
	if _, err := src.Backup(ctx, &file, crm.BackupOptions{Workspaces: []string{"acme"}}); err != nil {
		fmt.Println(err)
		return
	}

	dst := crm.New(memory.New())
	st, err := dst.Restore(ctx, bytes.NewReader(file.Bytes()), crm.RestoreOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("restored workspaces:", st.Workspaces)

	restored, _ := dst.Workspace(ctx, "acme")
	ada, _ := restored.Contacts().GetByEmail(ctx, "ada@example.com")
	fmt.Println(ada.FirstName)

	rep, _ := restored.Check(ctx, crm.CheckOptions{})
	fmt.Println("drift:", rep.Drifted())
	// Output:
	// restored workspaces: 1
	// Ada
	// drift: 0
}
