// The least a mutating webhook can be, in Go, for bench/admission-latency.ts's floor phase (--floors=go):
// the same contract as bench/floor-webhook.ts (net/http's HTTP/2 over TLS instead of node:http2). It
// decodes each review and answers at once, with the JSON patch that adds -secret for a pod in a namespace
// named -selected-prefix…, and "allowed, unchanged" for any other.
package main

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"strings"
)

type review struct {
	Request struct {
		UID       string `json:"uid"`
		Namespace string `json:"namespace"`
	} `json:"request"`
}

func main() {
	port := flag.String("port", "", "port to listen on, on 127.0.0.1")
	cert := flag.String("cert", "", "serving certificate (PEM file)")
	key := flag.String("key", "", "its private key (PEM file)")
	prefix := flag.String("selected-prefix", "", "pods in namespaces whose name starts with this get the entry")
	secret := flag.String("secret", "", "the Secret name the entry names")
	flag.Parse()
	if *port == "" || *cert == "" || *key == "" || *prefix == "" || *secret == "" {
		log.Fatal("-port, -cert, -key, -selected-prefix and -secret are required (see -help)")
	}
	entry, _ := json.Marshal([]map[string]any{{"op": "add", "path": "/spec/imagePullSecrets", "value": []map[string]string{{"name": *secret}}}})
	patch := base64.StdEncoding.EncodeToString(entry)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var rv review
		if err := json.NewDecoder(r.Body).Decode(&rv); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		response := map[string]any{"uid": rv.Request.UID, "allowed": true}
		if strings.HasPrefix(rv.Request.Namespace, *prefix) {
			response["patchType"] = "JSONPatch"
			response["patch"] = patch
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
	})
	log.Printf("floor webhook (Go) on 127.0.0.1:%s", *port)
	log.Fatal(http.ListenAndServeTLS("127.0.0.1:"+*port, *cert, *key, nil))
}
