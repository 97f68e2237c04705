module pullsecret-sync.dev/bench/floor-webhook-go

go 1.26
