from source_stripe_conduit.run import run

if __name__ == "__main__":
    run()
