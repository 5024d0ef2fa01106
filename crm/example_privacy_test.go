package crm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store/memory"
)

// exampleWorkspace opens a workspace on the in-memory store with a fixed
// clock; close the store when done.
func exampleWorkspace() (*memory.Store, *crm.Workspace) {
	st := memory.New()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ws, err := c.CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "acme", Name: "Acme"})
	if err != nil {
		panic(err)
	}
	return st, ws
}

// FindDuplicates streams likely duplicate pairs with a score and the
// reasons; it compares only contacts that share a blocking key, never all
// pairs.
func ExampleContacts_FindDuplicates() {
	st, ws := exampleWorkspace()
	defer st.Close()
	ctx := context.Background()
	cs := ws.Contacts()
	names := map[string]string{}
	for _, c := range []crm.Contact{
		{FirstName: "John", LastName: "Smith", Emails: []string{"John.Smith@gmail.com"}},
		{FirstName: "Jon", LastName: "Smith", Emails: []string{"johnsmith+crm@googlemail.com"}},
		{FirstName: "Mary", LastName: "Major", Phones: []crm.Phone{{Number: "+49 30 1234-5678"}}},
		{FirstName: "Peter", LastName: "Parker", Phones: []crm.Phone{{Number: "030 12345678", Region: "DE"}}},
		{FirstName: "Ann", LastName: "Lee", Emails: []string{"ann.lee@example.com"}},
		{FirstName: "Ann", LastName: "Lee", Emails: []string{"annlee@example.com"}},
	} {
		c, err := cs.Create(ctx, c)
		if err != nil {
			fmt.Println(err)
			return
		}
		names[c.ID] = c.Name()
	}
	for d, err := range cs.FindDuplicates(ctx, crm.DuplicateOptions{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s ~ %s: %.2f\n", names[d.A], names[d.B], d.Score)
		for _, r := range d.Reasons {
			fmt.Printf("  %s %.2f: %s\n", r.Rule, r.Score, r.Detail)
		}
	}
	// Output:
	// John Smith ~ Jon Smith: 0.97
	//   email 0.95: "John.Smith@gmail.com" and "johnsmith+crm@googlemail.com" are one Gmail mailbox (Gmail ignores dots and +tags)
	//   name 0.39: similar names "John Smith" and "Jon Smith" (0.97)
	// Mary Major ~ Peter Parker: 0.60
	//   phone 0.60: "+49 30 1234-5678" and "030 12345678" are both +493012345678
}

// Merge folds a duplicate into the record that survives: the survivor
// keeps its values unless told otherwise, takes the other's missing ones,
// and inherits its deals, activities, purchases and history. The merged
// ID keeps resolving to the survivor.
func ExampleContacts_Merge() {
	st, ws := exampleWorkspace()
	defer st.Close()
	ctx := context.Background()
	cs := ws.Contacts()
	ada, _ := cs.Create(ctx, crm.Contact{FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada@analytical.org"}})
	dup, _ := cs.Create(ctx, crm.Contact{FirstName: "Ada", LastName: "King", Title: "Countess", Emails: []string{"countess@lovelace.net"}})
	_, _ = ws.Deals().Create(ctx, crm.Deal{Name: "Analytical Engine", Contacts: []crm.ContactRole{{ContactID: dup.ID}}})

	merged, err := cs.Merge(ctx, ada.ID, dup.ID, crm.MergeOptions{
		Fields: map[string]crm.Keep{"last_name": crm.KeepMerged},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(merged.Name(), "-", merged.Title, merged.Emails)
	for d := range ws.Deals().ByContact(ctx, ada.ID) {
		fmt.Println("deal:", d.Name)
	}
	_, err = cs.Lookup(ctx, dup.ID)
	var me *crm.MergedError
	fmt.Println(errors.As(err, &me) && me.Into == ada.ID, errors.Is(err, crm.ErrNotFound))
	for c := range ws.History(ctx, crm.Ref{Kind: crm.KindContact, ID: ada.ID}) {
		fmt.Println("history:", c.Op, c.RecordID == dup.ID)
	}
	// Output:
	// Ada King - Countess [ada@analytical.org countess@lovelace.net]
	// deal: Analytical Engine
	// true true
	// history: merged false
	// history: updated false
	// history: created true
	// history: created false
}

// ExportContact answers a data subject's access request: everything held
// about the contact, as one JSON document.
func ExampleWorkspace_ExportContact() {
	st, ws := exampleWorkspace()
	defer st.Close()
	ctx := context.Background()
	ada, _ := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@analytical.org"}})
	_, _ = ws.Activities().Log(ctx, crm.Activity{Type: crm.ActivityCall, Subject: "Intro", ContactIDs: []string{ada.ID}})

	x, err := ws.ExportContact(ctx, ada.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.Marshal(x)
	var doc struct {
		Contact struct {
			Emails []string `json:"emails"`
		} `json:"contact"`
		Activities []struct {
			Subject string `json:"subject"`
		} `json:"activities"`
		History []struct {
			Op string `json:"op"`
		} `json:"history"`
		Events []struct {
			Type   string `json:"type"`
			Record struct {
				FirstName string `json:"first_name"`
			} `json:"record"`
		} `json:"events"`
	}
	_ = json.Unmarshal(b, &doc)
	fmt.Println(doc.Contact.Emails, doc.Activities[0].Subject, doc.History[0].Op)
	fmt.Println(doc.Events[0].Type, doc.Events[0].Record.FirstName)
	// Output:
	// [ada@analytical.org] Intro created
	// contact.created Ada
}

// Contacts.Erase answers an erasure request: the contact goes from every
// record, index, history entry and event, and only an audit entry of the
// erasure stays.
func ExampleContacts_Erase() {
	st, ws := exampleWorkspace()
	defer st.Close()
	ctx := crm.WithActor(context.Background(), "u_dpo")
	ada, _ := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada@analytical.org"}})
	bob, _ := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Bob"})
	note, _ := ws.Activities().Log(ctx, crm.Activity{Type: crm.ActivityNote,
		Body: "Ada Lovelace wants Bob at the demo", ContactIDs: []string{ada.ID, bob.ID}})

	if err := ws.Contacts().Erase(ctx, ada.ID); err != nil {
		fmt.Println(err)
		return
	}
	_, err := ws.Contacts().Get(ctx, ada.ID)
	fmt.Println(errors.Is(err, crm.ErrNotFound))
	note, _ = ws.Activities().Get(ctx, note.ID)
	fmt.Println(note.Body, len(note.ContactIDs))
	for c := range ws.History(ctx, crm.Ref{Kind: crm.KindContact, ID: ada.ID}) {
		fmt.Println(c.Op, "by", c.Actor, len(c.Fields))
	}
	// Output:
	// true
	// [erased] wants Bob at the demo 1
	// erased by u_dpo 0
}
