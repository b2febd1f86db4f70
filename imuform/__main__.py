from imuform.cli.main import run

run()
