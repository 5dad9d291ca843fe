"""Small BPMN documents written the way modelers write them, for engine tests."""

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" '
        'targetNamespace="http://bpmn.io/schema/bpmn">\n')


def doc(body, process_id="p", name="测试流程"):
    return (HEAD + f'<bpmn:process id="{process_id}" name="{name}" isExecutable="true">\n'
            + body + "\n</bpmn:process>\n</bpmn:definitions>\n").encode("utf-8")


def script_process(script, process_id="scripted"):
    return doc(f"""
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:scriptTask id="calc" name="计算" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming>
    <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
  <bpmn:userTask id="review" name="复核"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
  <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="review"/>
  <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end"/>""", process_id)


LOOP = doc("""
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:exclusiveGateway id="merge"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>back</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>
  <bpmn:userTask id="report" name="提交整改报告" camunda:dueDate="P5D"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
  <bpmn:boundaryEvent id="nag" cancelActivity="false" attachedToRef="report"><bpmn:outgoing>f4</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
  <bpmn:endEvent id="nagged"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  <bpmn:userTask id="verify" name="核查"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:userTask>
  <bpmn:exclusiveGateway id="ok" default="back"><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>done</bpmn:outgoing><bpmn:outgoing>back</bpmn:outgoing></bpmn:exclusiveGateway>
  <bpmn:endEvent id="end"><bpmn:incoming>done</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="merge"/>
  <bpmn:sequenceFlow id="f2" sourceRef="merge" targetRef="report"/>
  <bpmn:sequenceFlow id="f3" sourceRef="report" targetRef="verify"/>
  <bpmn:sequenceFlow id="f4" sourceRef="nag" targetRef="nagged"/>
  <bpmn:sequenceFlow id="f5" sourceRef="verify" targetRef="ok"/>
  <bpmn:sequenceFlow id="done" sourceRef="ok" targetRef="end"><bpmn:conditionExpression>accepted == True</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="back" sourceRef="ok" targetRef="merge"/>""", "loop")


# A caller with a call activity, a timer event subprocess, a send task and an absolute timeDate.
CALLEE = doc("""
  <bpmn:startEvent id="s"><bpmn:outgoing>c1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="sub_task" name="子流程任务" camunda:candidateGroups="company"><bpmn:incoming>c1</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="e"><bpmn:incoming>c2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="c1" sourceRef="s" targetRef="sub_task"/>
  <bpmn:sequenceFlow id="c2" sourceRef="sub_task" targetRef="e"/>""", "callee", "被调用流程")

CALLER = (HEAD + """
<bpmn:message id="m_notice" name="notice_sent"/>
<bpmn:process id="caller" name="调用方" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:sendTask id="notify" name="发送通知" messageRef="m_notice"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:sendTask>
  <bpmn:callActivity id="call" name="调用子流程" calledElement="callee"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:callActivity>
  <bpmn:intermediateCatchEvent id="until" name="等到指定日期"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:timeDate>2026-04-01T09:00:00+08:00</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  <bpmn:subProcess id="watch" triggeredByEvent="true">
    <bpmn:startEvent id="watch_start" isInterrupting="false"><bpmn:outgoing>w1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>P10D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:scriptTask id="note_late" name="记录超时"><bpmn:incoming>w1</bpmn:incoming><bpmn:outgoing>w2</bpmn:outgoing><bpmn:script>late = True</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="watch_end"><bpmn:incoming>w2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="w1" sourceRef="watch_start" targetRef="note_late"/>
    <bpmn:sequenceFlow id="w2" sourceRef="note_late" targetRef="watch_end"/>
  </bpmn:subProcess>
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="notify"/>
  <bpmn:sequenceFlow id="f2" sourceRef="notify" targetRef="call"/>
  <bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="until"/>
  <bpmn:sequenceFlow id="f4" sourceRef="until" targetRef="end"/>
</bpmn:process>
</bpmn:definitions>
""").encode("utf-8")
