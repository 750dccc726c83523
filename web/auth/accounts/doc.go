// Package accounts manages the users of the console and API and the API
// tokens directly in the state database, without a running yujing: it is
// `yujing users` and `yujing tokens`. Passwords are hashed and tokens made
// by web/auth's rules, as the console makes them; disabling a user or
// changing its password ends its sessions; every change is appended to the
// audit log under the actor that made it (cli:<login name>, from the
// command line on a host). Listings are tables aligned as a terminal shows
// them, also with Chinese in a cell.
package accounts
