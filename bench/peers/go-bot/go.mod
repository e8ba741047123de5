module sunledger.example/bench/go-bot

go 1.19
