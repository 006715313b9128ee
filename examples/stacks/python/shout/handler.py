import os


def handle(event, context):
    return {
        "statusCode": 200,
        "body": os.environ.get("PREFIX", "") + event.body.decode().upper(),
        "headers": {"Content-Type": "text/plain"},
    }
