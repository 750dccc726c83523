// Package auth is who may do what over HTTP: users with roles (viewer,
// operator, admin) who log in for a session cookie, API tokens for
// integrations, and the one rule table (Required) that says which role
// each request needs. Service.Middleware enforces it in front of the
// routes, with CSRF protection for cookie sessions; Service.Register
// adds the login, user and token endpoints. Password guessing is held
// back per user name (sparing the browsers the user logged in from) and
// per client address (slowed down, never refused), the address read
// behind trusted proxies: limit.go and proxy.go.
//
// Passwords are hashed with argon2id and kept as self-describing PHC
// strings; session ids and tokens are kept only as SHA-256 hashes.
package auth
