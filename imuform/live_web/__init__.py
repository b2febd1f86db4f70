"""The live page served to a phone: `imuform live --web` and `imuform calibrate --web` (`server.LiveWebServer`)."""
