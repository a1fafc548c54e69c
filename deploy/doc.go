// Package deploy holds Lanyard's self-hosting artifacts (Dockerfile, compose
// file, Helm chart, operator's guide) and the offline tests that check them:
// a Dockerfile lint, a compose file check against .env.example and the
// binary's configuration, and a Helm render whose every manifest is decoded
// strictly into the Kubernetes API types. Run them with `make lint-deploy`
// or `go test ./deploy/`. There is no Go code to import here.
package deploy
